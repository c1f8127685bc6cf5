"""JSON report: the same results as the JUnit file, as a documented structure.

Theory of operation: :func:`to_dict` is the schema (``format`` names its
version).  Shape::

    {"format": "sockgrade-result/1", "assignment": str, "title": str,
     "submission": str, "runner": "local"|"docker", "seed": int,
     "started": ISO-8601 str, "duration": seconds, "status": "passed"|"failed"|"error",
     "score": float, "max_score": float, "command": [str], "notes": [str],
     "counts": {"passed": int, "failed": int, "error": int, "skipped": int,
                "advice": int},   # advice: failed informational probes, not in "failed"
     "probes": [{"id", "category", "name", "outcome", "tier", "weight",
                 "time", "requirement", "reason", "hint", "excused", "hidden",
                 "evidence": {"sent", "expected", "actual", "first_difference",
                              "transport", "details"}, "transcript": [str]}],
     "output": {"stdout": str, "stderr": str, "stdout_bytes": int, "stderr_bytes": int}}
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from grader.report.text import clean
from grader.runner import GradeResult
from grader.verdict import Outcome

FORMAT = "sockgrade-result/1"


def to_dict(result: GradeResult) -> dict[str, Any]:
    """The JSON-ready mapping for one result (see the module docstring)."""
    return {
        "format": FORMAT,
        "assignment": result.assignment_id,
        "title": result.assignment_title,
        "submission": result.submission,
        "runner": result.runner,
        "seed": result.seed,
        "started": result.started.isoformat(timespec="seconds"),
        "duration": round(result.duration, 3),
        "status": result.status,
        "score": result.score,
        "max_score": result.max_score,
        "command": list(result.command),
        "notes": list(result.notes),
        "counts": {**{o.value: result.count(o) for o in Outcome}, "advice": result.advice_count},
        "probes": [
            {
                "id": v.probe_id,
                "category": v.category,
                "name": v.name,
                "outcome": v.outcome.value,
                "tier": v.tier.value,
                "weight": v.weight,
                "time": round(v.time, 4),
                "requirement": v.requirement,
                "reason": v.reason,
                "hint": v.hint,
                "excused": v.excused,
                "hidden": v.hidden,
                "evidence": {k: list(val) if isinstance(val, tuple) else val
                             for k, val in asdict(v.evidence).items()},
                "transcript": list(v.transcript),
            }
            for v in result.verdicts
        ],
        "output": {
            "stdout": clean(result.output.stdout),
            "stderr": clean(result.output.stderr),
            "stdout_bytes": result.output.stdout_total,
            "stderr_bytes": result.output.stderr_total,
        },
    }


def render(result: GradeResult) -> str:
    """The JSON text for one result."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False)
