"""GitHub Actions report: a job summary, one annotation per failure, step outputs.

Theory of operation: a step of a GitHub Actions job talks to the runner
three ways, all used here (``sockgrade check --github``):

- *workflow commands* on standard output: ``::error title=T::MESSAGE`` makes
  an annotation on the run's page.  One per failed probe (``error``), per
  probe the grader could not judge (``error``, titled as a grader error) and
  per failed informational probe (``warning``: advice).  The message is
  escaped as GitHub's runner does (``%`` -> ``%25``, CR -> ``%0D``, LF ->
  ``%0A``) and a property value also has ``:`` -> ``%3A`` and ``,`` -> ``%2C``
  (actions/toolkit, ``@actions/core`` ``command.ts``);
- the *job summary*: Markdown appended to the file named by
  ``$GITHUB_STEP_SUMMARY``: the score, a table of every probe, then each
  failure's requirement, reason, evidence and hint;
- *step outputs*: ``name=value`` lines appended to ``$GITHUB_OUTPUT``:
  ``score``, ``max-score``, ``passed`` (``true``/``false``), ``status``
  (passed/failed/error) and ``result`` (GitHub Classroom's runner result,
  base64, :mod:`grader.report.classroom`).

Submission text (reasons, evidence) may hold anything: it is cleaned of
control characters (:func:`grader.report.text.clean`), table cells have ``|``
and newlines escaped, and evidence goes in fenced blocks whose fence is
longer than any backtick run inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from grader.report import classroom
from grader.report.text import clean
from grader.runner import GradeResult
from grader.verdict import Outcome, Tier, Verdict

#: Characters of one annotation's message (GitHub shows the first lines only).
ANNOTATION_LIMIT = 4000
#: Characters of one evidence block in the summary (GitHub caps a summary at 1 MiB).
EVIDENCE_LIMIT = 4000
_MARK = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️", "advice": "💡"}


def escape_data(text: str) -> str:
    """A workflow command's message, escaped: ``%``, CR and LF (in that order)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``title=...``): data escapes plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _kind(verdict: Verdict) -> str:
    return "advice" if verdict.advice else verdict.outcome.value


def annotation_lines(result: GradeResult) -> list[str]:
    """One workflow-command line per failed, errored or advisory probe, in run order."""
    lines = []
    for verdict in result.verdicts:
        if verdict.outcome is Outcome.FAILED:
            level = "warning" if verdict.advice else "error"
            title = f"{'advice' if verdict.advice else 'failed'}: {verdict.probe_id}"
        elif verdict.outcome is Outcome.ERROR:
            level, title = "error", f"grader error (not the submission's fault): {verdict.probe_id}"
        else:
            continue
        body = [verdict.reason, *verdict.evidence.lines()]
        if verdict.hint:
            body.append(f"hint: {verdict.hint}")
        body.append(f"requirement: {verdict.requirement}")
        message = clean("\n".join(p for p in body if p), limit=ANNOTATION_LIMIT)
        lines.append(f"::{level} title={escape_property(clean(title, limit=200))}::{escape_data(message)}")
    return lines


def _cell(text: str) -> str:
    return clean(text, limit=300).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace(
        "\n", " ")


def _fenced(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _score(value: float) -> str:
    return f"{value:g}"


def summary(result: GradeResult) -> str:
    """The job summary (GitHub-flavoured Markdown) for ``result``."""
    mark = _MARK[result.status]
    out = [f"## {mark} sockgrade: {_cell(result.assignment_id)} — {_cell(result.assignment_title)}", "",
           f"**Score {_score(result.score)} / {_score(result.max_score)}** · {result.status} · "
           f"{result.count(Outcome.PASSED)} passed, {result.count(Outcome.FAILED)} failed, "
           f"{result.count(Outcome.ERROR)} grader errors, {result.count(Outcome.SKIPPED)} skipped, "
           f"{result.advice_count} advice · {result.duration:.1f} s · runner {result.runner} · "
           f"seed {result.seed}", "",
           f"Submission: `{_cell(result.submission).replace('`', '')}`", ""]
    for note in result.notes:
        out.append(f"> {_cell(note)}")
    if result.notes:
        out.append("")
    out += ["| | probe | tier | weight | time | reason |", "|---|---|---|---:|---:|---|"]
    for verdict in result.verdicts:
        reason = "" if verdict.outcome is Outcome.PASSED else verdict.reason
        out.append(f"| {_MARK[_kind(verdict)]} | `{_cell(verdict.probe_id)}` | {verdict.tier.value} | "
                   f"{_score(verdict.weight)} | {verdict.time:.2f} s | {_cell(reason)} |")
    details = list(_details(result))
    if details:
        out += ["", "### What failed, and why", "", *details]
    return "\n".join(out) + "\n"


def _details(result: GradeResult) -> Iterator[str]:
    for verdict in result.verdicts:
        if verdict.outcome not in (Outcome.FAILED, Outcome.ERROR):
            continue
        label = {"failed": "failed", "error": "grader error (not counted against you)",
                 "advice": "advice (informational, not scored)"}[_kind(verdict)]
        yield f"#### {_MARK[_kind(verdict)]} `{_cell(verdict.probe_id)}` — {label}"
        yield ""
        yield f"**Requirement:** {_cell(verdict.requirement)}"
        yield ""
        yield f"**What happened:** {_cell(verdict.reason)}"
        yield ""
        evidence = verdict.evidence.lines()
        if evidence:
            yield "**Evidence:**"
            yield ""
            yield _fenced(clean("\n".join(evidence), limit=EVIDENCE_LIMIT))
            yield ""
        if verdict.hint:
            yield f"**Hint:** {_cell(verdict.hint)}"
            yield ""
        if verdict.tier is Tier.REQUIRED and verdict.outcome is Outcome.FAILED:
            yield (f"Try it yourself: `sockgrade check {result.assignment_id} --select "
                   f"{verdict.category}/{verdict.name} --verbose`")
            yield ""


def outputs(result: GradeResult) -> dict[str, str]:
    """The step outputs: score, max-score, passed, status and Classroom's ``result``."""
    return {
        "score": _score(result.score),
        "max-score": _score(result.max_score),
        "passed": "true" if result.status == "passed" else "false",
        "status": result.status,
        "result": classroom.encoded(result),
    }


def write(result: GradeResult, *, summary_path: str | None, output_path: str | None) -> list[str]:
    """Append the summary and the outputs to the files GitHub names (when named); return
    the annotation lines for the caller to print on standard output.

    Raises OSError when a named file cannot be appended to.
    """
    if summary_path:
        with Path(summary_path).open("a", encoding="utf-8") as stream:
            stream.write(summary(result))
    if output_path:
        with Path(output_path).open("a", encoding="utf-8") as stream:
            for name, value in outputs(result).items():
                stream.write(f"{name}={value}\n")  # every value is one line without "\n"
    return annotation_lines(result)
