"""PrairieLearn's external-grader ``results.json``.

Theory of operation: the format is PrairieLearn's "External Grading" results
file (docs.prairielearn.com/externalGrading, "Grading results"); the schema
kept in ``tests/schemas/prairielearn-results.json`` checks what this module
writes.  Shape::

    {"gradable": bool, "score": float in 0..1, "message": str, "output": str,
     "tests": [{"name": "category/name", "description": str, "points": float,
                "max_points": float, "message": str, "output": str}]}

One test per probe, ``max_points`` its weight (0 for informational probes).
PrairieLearn shows every test to the student, so the file is always built
from :func:`grader.report.visibility.student_view`: a hidden probe appears
as its numbered stand-in (its points count).

Grader faults never cost points: ``score`` is the weight of the passed
probes over the weight of the probes the grader could judge (the same
fraction as ``sockgrade check``'s score), and an excused probe's test has
``max_points`` 0 and a message saying so.  When the grader could judge no
required probe at all (``max_score`` 0 with required probes present: the
machine, not the submission, failed), ``gradable`` is false, which tells
PrairieLearn not to charge the student an attempt.
"""

from __future__ import annotations

import json
from typing import Any

from grader.report.gradescope import summary
from grader.report.text import clean
from grader.report.visibility import student_view
from grader.runner import GradeResult
from grader.verdict import Outcome, Tier, Verdict

#: Characters of output kept per test.
OUTPUT_LIMIT = 8 * 1024


def _test(verdict: Verdict) -> dict[str, Any]:
    counted = verdict.tier is Tier.REQUIRED and not verdict.excused
    weight = verdict.weight if counted else 0.0
    if verdict.excused:
        message = "grader error: not judged, not counted (not the submission's fault)"
    elif verdict.advice:
        message = f"informational (advice, not scored): {verdict.reason}"
    else:
        message = verdict.outcome.value + (f": {verdict.reason}" if verdict.outcome
                                           is not Outcome.PASSED and verdict.reason else "")
    output: list[str] = []
    if verdict.outcome is not Outcome.PASSED:
        output.extend(verdict.evidence.lines())
        if verdict.hint:
            output.append(f"hint: {verdict.hint}")
    return {
        "name": f"{verdict.category}/{verdict.name}",
        "description": clean(verdict.requirement, limit=2000),
        "points": weight if verdict.outcome is Outcome.PASSED else 0.0,
        "max_points": weight,
        "message": clean(message, limit=1000),
        "output": clean("\n".join(output), limit=OUTPUT_LIMIT),
    }


def to_dict(result: GradeResult) -> dict[str, Any]:
    """The ``results.json`` mapping for ``result`` (student view; see the module docstring)."""
    shown = student_view(result)
    required = any(v.tier is Tier.REQUIRED for v in shown.verdicts)
    gradable = shown.max_score > 0 or not required
    score = shown.score / shown.max_score if shown.max_score > 0 else (0.0 if required else 1.0)
    message = (f"score {shown.score:g}/{shown.max_score:g}: {shown.status}" if gradable else
               "the grader could not judge this submission (a grader or machine fault, not "
               "yours): it is not graded and costs no attempt")
    return {
        "gradable": gradable,
        "score": round(score, 6) if gradable else 0.0,
        "message": message,
        "output": summary(shown, excused_note="they do not count (neither for nor against "
                                              "the submission)."),
        "tests": [_test(v) for v in shown.verdicts],
    }


def render(result: GradeResult) -> str:
    """The ``results.json`` text for ``result``."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False)
