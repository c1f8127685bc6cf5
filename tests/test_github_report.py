"""``sockgrade check --github`` and ``--classroom``: what a GitHub Actions job and GitHub Classroom read.

The reference and a known-bug program (tests/bugs/tcp-echo-server/dies_on_recv_reset.py)
are graded by the real command with temporary files standing in for
$GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT; the Classroom result (file and step
output) is validated against tests/schemas/classroom-result.schema.json.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import BUGS, TESTS
from test_tcp_echo_server import KNOWN_BUGS

from grader.launch.base import Output
from grader.report import github
from grader.runner import GradeResult
from grader.verdict import Evidence, Outcome, Tier, Verdict

SCHEMA = json.loads((TESTS / "schemas" / "classroom-result.schema.json").read_text())
BUG = "dies_on_recv_reset"


def check_for_github(tmp_path: Path, *target: str
                     ) -> tuple[subprocess.CompletedProcess[str], Path, Path, Path]:
    """Run ``sockgrade check tcp-echo-server TARGET --github --classroom``; returns the process
    and the summary, output and classroom files."""
    summary, output, classroom = tmp_path / "summary.md", tmp_path / "output.txt", tmp_path / "classroom.json"
    summary.write_text("earlier step\n")  # GitHub's files may hold other steps' lines: append
    env = {**os.environ, "NO_COLOR": "1", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    env.pop("SOCKGRADE_SEED", None)
    done = subprocess.run([sys.executable, "-m", "grader", "check", "tcp-echo-server", *target, "--github",
                           "--classroom", str(classroom)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)
    return done, summary, output, classroom


def read_outputs(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text().splitlines()]
    assert all(len(pair) == 2 for pair in pairs), pairs
    return dict(pairs)  # type: ignore[arg-type]


def valid_classroom(result: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(result, SCHEMA)
    return result


def test_reference(tmp_path: Path) -> None:
    done, summary, output, classroom = check_for_github(tmp_path, "--reference")
    assert done.returncode == 0, done.stdout[-2000:]
    assert not [line for line in done.stdout.splitlines() if line.startswith("::")], "no annotation"
    outputs = read_outputs(output)
    assert outputs["passed"] == "true" and outputs["status"] == "passed"
    assert outputs["score"] == outputs["max-score"] == "17"
    result = valid_classroom(json.loads(base64.b64decode(outputs["result"])))
    assert result == valid_classroom(json.loads(classroom.read_text()))
    assert result["status"] == "pass" and result["max_score"] == 17
    assert {t["status"] for t in result["tests"]} == {"pass"}
    assert sum(t["score"] for t in result["tests"]) == 17
    text = summary.read_text()
    assert text.startswith("earlier step\n## ✅ sockgrade: tcp-echo-server")
    assert "**Score 17 / 17**" in text and "What failed" not in text
    assert text.count("| ✅ |") == len(result["tests"]) == 17


def test_known_bug(tmp_path: Path) -> None:
    failing, skipped, _ = KNOWN_BUGS[BUG]
    done, summary, output, classroom = check_for_github(tmp_path, str(BUGS / "tcp-echo-server" / f"{BUG}.py"))
    assert done.returncode == 1, done.stdout[-2000:]
    outputs = read_outputs(output)
    assert outputs["passed"] == "false" and outputs["status"] == "failed"
    assert (outputs["score"], outputs["max-score"]) == ("16", "17")

    commands = [line for line in done.stdout.splitlines() if line.startswith("::")]
    errors = [c for c in commands if c.startswith("::error ")]
    warnings = [c for c in commands if c.startswith("::warning ")]
    assert len(errors) == 1 and errors[0].startswith(
        "::error title=failed%3A tcp-echo-server/robustness/client-reset::after a client reset"), errors
    assert "%0Ahint: catch ConnectionResetError" in errors[0] and "\n" not in errors[0]
    assert len(warnings) == 1 and "concurrency/second-client::" in warnings[0]  # informational: advice
    assert {"robustness/client-reset", "concurrency/second-client"} == failing and not skipped

    result = valid_classroom(json.loads(base64.b64decode(outputs["result"])))
    assert result == json.loads(classroom.read_text())
    assert result["status"] == "fail" and result["max_score"] == 17
    by_name = {t["name"].split("/", 1)[1]: t for t in result["tests"]}
    assert {n for n, t in by_name.items() if t["status"] == "fail"} == failing
    assert by_name["robustness/client-reset"]["score"] == 0
    assert "ConnectionResetError" in by_name["robustness/client-reset"]["message"]
    assert by_name["concurrency/second-client"]["message"].startswith("advice (informational")
    assert sum(t["score"] for t in result["tests"]) == 16

    text = summary.read_text()
    assert "## ❌ sockgrade: tcp-echo-server" in text and "**Score 16 / 17**" in text
    failure = text[text.index("#### ❌ `tcp-echo-server/robustness/client-reset`"):]
    for part in ("**Requirement:** A client that resets", "docs/labs.md §1", "**Evidence:**",
                 "**Hint:** catch ConnectionResetError",
                 "--select robustness/client-reset --verbose"):
        assert part in failure, part
    # the evidence is the next client's: its request, or its refused connect when the server
    # was already gone (which of the two depends on how fast the server died)
    assert "sent: b'client 0" in failure or "refused" in failure, failure


def test_unwritable_summary_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "summary.md")}
    done = subprocess.run([sys.executable, "-m", "grader", "check", "tcp-echo-server", "--reference",
                           "--select", "startup/listens", "--github"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--github: cannot append to" in done.stderr, done.stderr


@pytest.mark.parametrize(("raw", "data", "prop"), [
    ("plain", "plain", "plain"),
    ("100%", "100%25", "100%25"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("x: y, z", "x: y, z", "x%3A y%2C z"),
    ("%0A", "%250A", "%250A"),  # an escape already in the text is not read as one
    ("::error::", "::error::", "%3A%3Aerror%3A%3A"),
])
def test_workflow_command_escaping(raw: str, data: str, prop: str) -> None:
    """GitHub's rules (@actions/core command.ts): data escapes %, CR, LF; properties also : and ,."""
    assert github.escape_data(raw) == data
    assert github.escape_property(raw) == prop


def _result(*verdicts: Verdict) -> GradeResult:
    return GradeResult(assignment_id="tcp-echo-server", assignment_title="TCP | echo", submission="s`.py",
                       runner="local", seed=1, started=datetime(2026, 1, 1, tzinfo=UTC),
                       duration=1.0, verdicts=verdicts,
                       output=Output(stdout=b"", stderr=b"", stdout_total=0, stderr_total=0))


def test_hostile_text_stays_in_its_place() -> None:
    """A reason with newlines, '::' and '|', evidence with backticks: one annotation line, one table row."""
    hostile = Verdict(probe_id="tcp-echo-server/echo/one-message", category="echo", name="one-message",
                      outcome=Outcome.FAILED, tier=Tier.REQUIRED, weight=2, time=0.5,
                      requirement="echo it", reason="got 'a|b'\n::error::pwned\x1b[31m",
                      hint="use sendall", evidence=Evidence(actual="````\n``` inside"))
    lines = github.annotation_lines(_result(hostile))
    assert len(lines) == 1 and "\n" not in lines[0] and "\x1b" not in lines[0]
    assert lines[0].startswith(
        "::error title=failed%3A tcp-echo-server/echo/one-message::got 'a|b'%0A::error::pwned%0A")
    text = github.summary(_result(hostile))
    row = next(line for line in text.splitlines() if "`tcp-echo-server/echo/one-message`" in line
               and line.startswith("| ❌"))
    assert "a\\|b" in row and row.count(" | ") == 5
    assert "`````text\nactual: ````\n``` inside\n`````" in text  # the fence outgrows the backticks inside
