"""GitHub Classroom runner result: what ``autograding-grading-reporter`` reads.

Theory of operation: GitHub Classroom's autograding workflow runs "runner"
steps, each of which sets a step output ``result`` holding base64 of a JSON
object; the reporter step (``classroom-resources/autograding-grading-reporter``)
decodes every runner's result, adds up the tests' ``score`` against the
runners' ``max_score`` and reports the total to Classroom.  Shape (version 1,
as written by Classroom's own command and I/O graders)::

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": float,
     "tests": [{"name": str, "status": "pass"|"fail"|"error", "score": float,
                "message": str, "test_code": str, "filename": str,
                "line_no": int, "execution_time": str, "duration": float}]}

One test per probe, in run order.  ``score`` is the probe's weight when it
passed and counts (a required probe not excused by a grader error), else 0,
so the tests' scores add up to :attr:`GradeResult.score` and ``max_score`` is
:attr:`GradeResult.max_score`.  A failed informational probe is ``fail``
with score 0 and says it is advice; a probe the grader could not judge is
``error``.  The top-level status follows the grading's (passed, failed,
error).  ``execution_time`` is in seconds as text ("0.12s"), ``duration`` the
same number.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from grader.report.text import clean
from grader.runner import GradeResult
from grader.verdict import Outcome, Verdict

#: The runner-result version this module writes.
VERSION = 1
_STATUS = {"passed": "pass", "failed": "fail", "error": "error"}
#: Characters of a test's message (the reporter prints it in the job log).
MESSAGE_LIMIT = 2000


def _test_status(verdict: Verdict) -> str:
    if verdict.outcome is Outcome.PASSED:
        return "pass"
    if verdict.outcome is Outcome.ERROR or verdict.excused:
        return "error"
    return "fail"


def _message(verdict: Verdict) -> str:
    if verdict.outcome is Outcome.PASSED:
        return ""
    parts = [f"{'advice (informational, not scored): ' if verdict.advice else ''}{verdict.reason}"]
    parts.extend(verdict.evidence.lines())
    if verdict.hint:
        parts.append(f"hint: {verdict.hint}")
    parts.append(f"requirement: {verdict.requirement}")
    return clean("\n".join(p for p in parts if p), limit=MESSAGE_LIMIT)


def to_dict(result: GradeResult) -> dict[str, Any]:
    """The runner result for ``result`` (see the module docstring for the shape)."""
    tests = []
    for verdict in result.verdicts:
        scored = result.counted(verdict) and verdict.outcome is Outcome.PASSED
        tests.append({
            "name": verdict.probe_id,
            "status": _test_status(verdict),
            "score": verdict.weight if scored else 0,
            "message": _message(verdict),
            "test_code": f"sockgrade check {result.assignment_id} --select {verdict.category}/{verdict.name}",
            "filename": "",
            "line_no": 0,
            "execution_time": f"{verdict.time:.2f}s",
            "duration": round(verdict.time, 3),
        })
    return {"version": VERSION, "status": _STATUS[result.status], "max_score": result.max_score,
            "tests": tests}


def render(result: GradeResult) -> str:
    """The runner result as JSON text (UTF-8, indented)."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False)


def encoded(result: GradeResult) -> str:
    """Base64 (standard alphabet, one line) of the compact JSON: the step output ``result``."""
    text = json.dumps(to_dict(result), ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
