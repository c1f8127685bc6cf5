"""file-transfer-client (docs/labs.md §17): the reference passes, each known bug fails exactly
its probes for the stated reason (failed and skipped sets apart), and verdicts repeat exactly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import (
    Gradings,
    assert_all_passed_alike,
    assert_known_bug,
    failed,
    grade,
    grade_known_bugs,
    not_passed,
    verdict,
)

from grader.assignment import load
from grader.verdict import Outcome

LAB = "file-transfer-client"
ALL = {c.name for c in load(LAB).probes}
#: Everything that needs a working upload (depends on upload/framing).
AFTER_FRAMING = ALL - {"upload/framing", "errors/closed-early", "errors/refused",
                       "errors/missing-file"}

# bug file -> (the exact probes that fail, the exact probes skipped,
#              {probe: words its reason, hint or evidence must contain}).
# The errors/* probes need no working upload: they run for every client.
KNOWN_BUGS: dict[str, tuple[set[str], set[str], dict[str, str]]] = {
    "full_path": ({"upload/base-name"}, set(), {"upload/base-name": "basename"}),
    "send_not_sendall": ({"upload/large-file"}, set(),
                         {"upload/large-file": "sendall"}),
    "size_four_bytes": ({"upload/framing"}, AFTER_FRAMING,
                        {"upload/framing": "size field is 4 bytes"}),
    "name_length_chars": ({"upload/non-ascii-name"}, set(),
                          {"upload/non-ascii-name": "counts characters"}),
    "exit_zero_on_err": ({"reply/err"}, set(), {"reply/err": "status 0"}),
    "traceback_on_error": (
        {"errors/refused", "errors/closed-early", "errors/missing-file"}, set(),
        {"errors/refused": "traceback", "errors/closed-early": "traceback",
         "errors/missing-file": "traceback"},
    ),
    "single_recv_reply": (
        {"reply/ok", "reply/err", "errors/closed-early"}, set(),
        {"reply/ok": "did not print the OK", "reply/err": "whole ERR",
         "errors/closed-early": "one line on stderr"},
    ),
    "resets_on_close": ({"shutdown/clean-close"}, set(), {"shutdown/clean-close": "RST"}),
    "hangs_on_early_close": ({"errors/closed-early"}, set(), {"errors/closed-early": "hung"}),
    "mmap_file": ({"upload/empty-file"}, set(), {"upload/empty-file": "never connected"}),
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs(LAB, KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade(LAB)
    assert not_passed(result) == set()
    assert result.status == "passed"


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected_failed, expected_skipped, reasons = KNOWN_BUGS[bug]
    assert_known_bug(bug_results[bug], expected_failed | expected_skipped, expected_skipped, reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    assert set().union(*(failed(result) for result in bug_results.values())) == ALL


SENDS_BEFORE_OPENING = """
import os, socket, struct, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
name = os.path.basename(path).encode()
sock = socket.create_connection((host, port))
sock.sendall(struct.pack(">I", len(name)) + name)
try:
    data = open(path, "rb").read()
except OSError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(1)
"""


def test_missing_file_with_bytes_already_sent_fails(tmp_path: Path) -> None:
    """A client that sends the name before opening FILE fails errors/missing-file, though its
    error report itself is clean: with FILE missing, nothing may be sent."""
    program = tmp_path / "client.py"
    program.write_text(SENDS_BEFORE_OPENING)
    result = grade(LAB, program, select=["errors/missing-file"])
    check = verdict(result, "errors/missing-file")
    assert check.outcome is Outcome.FAILED and "still sent" in check.reason, check.reason


def test_reference_verdicts_repeat_20_times_under_load() -> None:
    """20 gradings of the reference at once give identical verdicts (all passed)."""
    with ThreadPoolExecutor(20) as pool:
        assert_all_passed_alike(list(pool.map(lambda _: grade(LAB), range(20))))
