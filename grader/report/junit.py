"""JUnit XML: one ``<testsuite>`` per submission and assignment, one ``<testcase>`` per probe.

Theory of operation: written with junit-xml, in the common subset of the
JUnit dialects (validated against junit-10.xsd in the tests).  A failed
verdict is ``<failure>`` (the submission's fault), an error is ``<error>``
(the grader's), a skip is ``<skipped>`` with its reason.  ``classname`` is
``<assignment>.<category>``, or ``<student>.<assignment>.<category>`` in a
batch's reports (dots in the student id become ``_``), so viewers that group
by classname keep each student's cases apart in the combined file;
``name`` is the probe's name.  The failure's
``message`` attribute is the one-line reason; its text is the evidence and
the hint.  The submission's captured output goes to the suite's
``<system-out>``/``<system-err>``, cleaned of characters XML 1.0 forbids.
"""

from __future__ import annotations

from collections.abc import Sequence

from junit_xml import TestCase, TestSuite, to_xml_report_string

from grader.report.text import clean
from grader.runner import GradeResult
from grader.verdict import Outcome, Verdict

#: Characters of captured output kept per stream in the report.
OUTPUT_LIMIT = 16 * 1024


def _body(verdict: Verdict) -> str:
    lines = [verdict.reason, *verdict.evidence.lines()]
    if verdict.hint:
        lines.append(f"hint: {verdict.hint}")
    lines.append(f"requirement: {verdict.requirement}")
    return clean("\n".join(lines), limit=OUTPUT_LIMIT)


def classname(result: GradeResult, verdict: Verdict, student: str | None = None) -> str:
    """``[<student>.]<assignment>.<category>`` (dots in ``student`` become ``_``)."""
    prefix = "" if student is None else clean(student, limit=200).replace(".", "_") + "."
    return f"{prefix}{result.assignment_id}.{verdict.category}"


def suite(result: GradeResult, student: str | None = None) -> TestSuite:
    """The ``<testsuite>`` for one result (suite name: ``<assignment>:<submission>``);
    ``student`` (batch reports) prefixes every classname."""
    cases = []
    seen: set[str] = set()
    for verdict in result.verdicts:
        name = verdict.name if verdict.name not in seen else f"{verdict.category}/{verdict.name}"
        seen.add(name)
        case = TestCase(
            name=name,
            classname=classname(result, verdict, student),
            elapsed_sec=round(verdict.time, 6),
            stdout=clean("\n".join(verdict.transcript), limit=OUTPUT_LIMIT) or None,
        )
        reason = clean(verdict.reason or verdict.outcome.value, limit=500).replace("\n", " ")
        if verdict.advice:  # informational: never red while the job is green
            case.add_skipped_info(message=f"informational probe failed (advice, not scored): "
                                          f"{reason}", output=_body(verdict))
        elif verdict.outcome is Outcome.FAILED:
            case.add_failure_info(message=reason, output=_body(verdict), failure_type="failure")
        elif verdict.outcome is Outcome.ERROR:
            case.add_error_info(message=reason, output=_body(verdict), error_type="grader-error")
        elif verdict.outcome is Outcome.SKIPPED:
            case.add_skipped_info(message=reason, output=reason)
        cases.append(case)
    properties = {
        "assignment": result.assignment_id,
        "submission": clean(result.submission, limit=500),
        "runner": result.runner,
        "seed": str(result.seed),
        "score": f"{result.score:g}",
        "max_score": f"{result.max_score:g}",
        "status": result.status,
    }
    for index, note in enumerate(result.notes):
        properties[f"note.{index + 1}"] = clean(note, limit=500)
    return TestSuite(
        name=clean(f"{result.assignment_id}:{result.submission}", limit=500),
        test_cases=cases,
        timestamp=result.started.isoformat(timespec="seconds"),
        properties=properties,
        stdout=clean(result.output.stdout, limit=OUTPUT_LIMIT),
        stderr=clean(result.output.stderr, limit=OUTPUT_LIMIT),
    )


def render(results: Sequence[GradeResult], *, student: str | None = None) -> str:
    """The JUnit XML document for ``results`` (one ``<testsuites>`` root); ``student``
    prefixes every classname (a batch's per-student report)."""
    return str(to_xml_report_string([suite(r, student) for r in results], prettyprint=True,
                                    encoding="utf-8"))
