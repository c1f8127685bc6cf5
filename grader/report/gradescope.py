"""Gradescope's ``results.json``: what an autograder hands back to Gradescope.

Theory of operation: the format is Gradescope's "Autograder Specifications"
(gradescope-autograders.readthedocs.io, "Output format"); the schema kept in
``tests/schemas/gradescope-results.json`` checks what this module writes.
Shape::

    {"score": float, "execution_time": int seconds, "output": str, "output_format": "text",
     "visibility": "visible", "stdout_visibility": "hidden",
     "extra_data": {"format": "sockgrade-gradescope/1", "assignment", "status", "seed",
                    "max_score", "grader_errors": int},
     "tests": [{"name": "category/name", "score": float, "max_score": float,
                "status": "passed"|"failed", "output": str, "output_format": "text",
                "visibility": "visible"|"hidden"|"after_due_date"|"after_published"}]}

One test per probe, ``max_score`` its weight (0 for informational probes,
which are advice).  Gradescope's total is fixed by the assignment's point
value, so a probe the grader could not judge (an error, or a skip an error
caused: ``excused``) is *credited* its full weight, with ``status``
"passed" and an output that starts ``GRADER ERROR`` and asks for a regrade:
a grader fault never costs points, and the teacher finds those runs by
``extra_data.grader_errors``.  The top-level ``score`` is the sum of the
tests' scores.

Hidden probes: student-facing text always comes from
:func:`grader.report.visibility.student_view`.  With ``reveal_hidden``
(the autograder bundle: Gradescope enforces ``visibility``), a hidden probe's
test carries its real name and evidence under ``hidden_visibility``;
without it, the test is the numbered stand-in (also under
``hidden_visibility``).
"""

from __future__ import annotations

import json
from typing import Any

from grader.report.text import clean
from grader.report.visibility import hidden_summary, student_view
from grader.runner import GradeResult
from grader.verdict import Outcome, Tier, Verdict

FORMAT = "sockgrade-gradescope/1"
#: Gradescope's visibility values (tests and the whole result).
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
#: Characters of output kept per test.
OUTPUT_LIMIT = 8 * 1024


def _output(verdict: Verdict) -> str:
    lines: list[str] = []
    if verdict.excused:
        lines.append("GRADER ERROR: the grader could not judge this probe (not the submission's "
                     "fault); it is credited. Ask your teacher to regrade.")
    elif verdict.advice:
        lines.append("informational (advice, not scored)")
    lines.append(f"requirement: {verdict.requirement}")
    if verdict.outcome is not Outcome.PASSED:
        if verdict.reason:
            lines.append(f"{verdict.outcome.value}: {verdict.reason}")
        lines.extend(verdict.evidence.lines())
        if verdict.hint:
            lines.append(f"hint: {verdict.hint}")
    return clean("\n".join(lines), limit=OUTPUT_LIMIT)


def _test(verdict: Verdict, visibility: str) -> dict[str, Any]:
    weight = verdict.weight if verdict.tier is Tier.REQUIRED else 0.0
    credited = verdict.outcome is Outcome.PASSED or verdict.excused
    return {
        "name": f"{verdict.category}/{verdict.name}",
        "score": weight if credited else 0.0,
        "max_score": weight,
        "status": "passed" if credited else "failed",
        "output": _output(verdict),
        "output_format": "text",
        "visibility": visibility,
    }


#: What the summary says of probes a grader error excused, in Gradescope's terms.
CREDITED = "they are credited, not charged. Ask your teacher to regrade."


def summary(result: GradeResult, *, excused_note: str = CREDITED) -> str:
    """The student-facing top-level text of ``result`` (pass a student view); ``excused_note``
    says what became of probes a grader error excused."""
    counts = ", ".join([*(f"{result.count(o)} {o.value}" for o in Outcome if result.count(o)),
                        *([f"{result.advice_count} advice"] if result.advice_count else [])])
    lines = [f"{result.assignment_title} ({result.assignment_id}): {result.status.upper()}",
             f"probes: {counts}; seed {result.seed}"]
    if hidden := hidden_summary(result):
        lines.append(hidden)
    excused = sum(1 for v in result.verdicts if v.excused and v.tier is Tier.REQUIRED)
    if excused:
        lines.append(f"{excused} probe(s) could not be judged because of a grader error: "
                     f"{excused_note}")
    lines.extend(f"note: {note}" for note in result.notes)
    return clean("\n".join(lines), limit=OUTPUT_LIMIT)


def to_dict(result: GradeResult, *, reveal_hidden: bool = False,
            hidden_visibility: str = "hidden") -> dict[str, Any]:
    """The ``results.json`` mapping for ``result`` (see the module docstring).

    Raises ValueError for a ``hidden_visibility`` Gradescope does not know.
    """
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, "
                         f"got {hidden_visibility!r}")
    shown = student_view(result)
    tests = []
    for full, public in zip(result.verdicts, shown.verdicts, strict=True):
        if full.hidden:
            tests.append(_test(full if reveal_hidden else public, hidden_visibility))
        else:
            tests.append(_test(public, "visible"))
    errors = sum(1 for v in result.verdicts if v.excused and v.tier is Tier.REQUIRED)
    return {
        "score": sum(t["score"] for t in tests),
        "execution_time": round(result.duration),
        "output": summary(shown),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"format": FORMAT, "assignment": result.assignment_id,
                       "status": result.status, "seed": result.seed,
                       "max_score": sum(t["max_score"] for t in tests), "grader_errors": errors},
        "tests": tests,
    }


def render(result: GradeResult, *, reveal_hidden: bool = False,
           hidden_visibility: str = "hidden") -> str:
    """The ``results.json`` text for ``result`` (see :func:`to_dict`)."""
    return json.dumps(to_dict(result, reveal_hidden=reveal_hidden,
                              hidden_visibility=hidden_visibility), indent=2, ensure_ascii=False)
