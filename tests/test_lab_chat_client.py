"""chat-client (docs/labs.md §16): the reference passes, each known bug fails exactly its
probes for the stated reason (failed and skipped sets apart), and verdicts repeat exactly."""

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

LAB = "chat-client"
ALL = {c.name for c in load(LAB).probes}
#: Everything after joining (every probe depends on join/username).
AFTER_JOIN = ALL - {"join/username"}
_HUNG = "did not exit within 2 s"

# bug file -> (the exact probes that fail, the exact probes skipped,
#              {probe: words its reason, hint or evidence must contain}).
KNOWN_BUGS: dict[str, tuple[set[str], set[str], dict[str, str]]] = {
    "prints_after_input": (
        {"print/while-idle", "print/coalesced", "print/split-line", "shutdown/stdin-eof",
         "shutdown/server-close", "shutdown/server-reset"}, set(),
        {"print/while-idle": "not printed", "print/coalesced": "not printed",
         "print/split-line": "not printed", "shutdown/stdin-eof": "RST",
         "shutdown/server-close": _HUNG, "shutdown/server-reset": _HUNG},
    ),
    "one_recv_one_line": ({"print/coalesced", "print/split-line"}, set(),
                          {"print/coalesced": "printed in pieces",
                           "print/split-line": "printed in pieces"}),
    "username_no_newline": ({"join/username"}, AFTER_JOIN,
                            {"join/username": "username without a newline"}),
    "traceback_on_reset": ({"shutdown/server-reset"}, set(),
                           {"shutdown/server-reset": "traceback"}),
    "hangs_in_input": ({"shutdown/server-close", "shutdown/server-reset"}, set(),
                       {"shutdown/server-close": _HUNG, "shutdown/server-reset": _HUNG}),
    "busy_loop": ({"resources/idle-cpu"}, set(), {"resources/idle-cpu": "busy loop"}),
    "resets_on_exit": ({"shutdown/stdin-eof"}, set(), {"shutdown/stdin-eof": "RST"}),
    "stdin_chunk_as_line": ({"send/stdin-lines"}, set(), {"send/stdin-lines": "in pieces"}),
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs(LAB, KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade(LAB)
    assert not_passed(result) == set(), [(v.probe_id, v.reason) for v in result.verdicts]
    assert result.status == "passed"


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected_failed, expected_skipped, reasons = KNOWN_BUGS[bug]
    assert_known_bug(bug_results[bug], expected_failed | expected_skipped, expected_skipped, reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    assert set().union(*(failed(result) for result in bug_results.values())) == ALL


SILENT_ON_CLOSE = """
import os, socket, sys, threading
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
sock.sendall((sys.argv[3] + "\\n").encode())
def receive():
    while data := sock.recv(4096):
        sys.stdout.write(data.decode())
    os._exit(0)
threading.Thread(target=receive, daemon=True).start()
for line in sys.stdin:
    sock.sendall(line.encode())
"""

EXTRA_AT_EOF = """
import os, select, socket, sys
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
sock.sendall((sys.argv[3] + "\\n").encode())
inputs = [sock, sys.stdin]
while True:
    ready, _, _ = select.select(inputs, [], [])
    if sock in ready:
        data = sock.recv(4096)
        if not data:
            print("bye")
            break
        sys.stdout.write(data.decode())
    if sys.stdin in ready:
        chunk = os.read(0, 4096)
        if not chunk:
            sock.sendall(b"/quit\\n")
            inputs.remove(sys.stdin)
            sock.shutdown(socket.SHUT_WR)
            continue
        sock.sendall(chunk)
"""


def test_silent_exit_on_server_close_fails(tmp_path: Path) -> None:
    """A client that exits at once when the server closes, but says nothing, fails: the
    user must be told why the chat ended."""
    program = tmp_path / "client.py"
    program.write_text(SILENT_ON_CLOSE)
    result = grade(LAB, program, select=["shutdown/server-close"])
    check = verdict(result, "shutdown/server-close")
    assert check.outcome is Outcome.FAILED and "without saying so" in check.reason, check.reason


def test_bytes_sent_at_eof_fail(tmp_path: Path) -> None:
    """A client that sends a farewell command at EOF fails shutdown/stdin-eof: the room
    would get it as a message."""
    program = tmp_path / "client.py"
    program.write_text(EXTRA_AT_EOF)
    result = grade(LAB, program, select=["shutdown/stdin-eof"])
    check = verdict(result, "shutdown/stdin-eof")
    assert check.outcome is Outcome.FAILED and "more bytes" in check.reason, check.reason


def test_reference_verdicts_repeat_20_times_under_load() -> None:
    """20 gradings of the reference at once give identical verdicts (all passed)."""
    with ThreadPoolExecutor(20) as pool:
        assert_all_passed_alike(list(pool.map(lambda _: grade(LAB), range(20))))
