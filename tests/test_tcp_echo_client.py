"""tcp-echo-client (docs/labs.md §14): the reference passes, each known bug fails exactly its
probes for the stated reason, and verdicts repeat exactly."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from helpers import (
    REPEAT_CHUNKS,
    Gradings,
    assert_all_passed_alike,
    assert_known_bug,
    failed,
    grade,
    grade_at_once,
    grade_known_bugs,
    not_passed,
    verdict,
)

from grader.assignment import load
from grader.net import refusing_port

ALL = {c.name for c in load("tcp-echo-client").probes}

AFTER_ECHO = {"partial/slow-echo", "shutdown/clean-close", "partial/large-message"}

# bug file -> (the exact probes that fail, the exact probes skipped,
#              {probe: words its reason, hint or evidence must contain}).
# errors/refused and errors/closed-early need no working echo: they run for every client.
KNOWN_BUGS: dict[str, tuple[set[str], set[str], dict[str, str]]] = {
    "single_recv": (
        {"errors/closed-early", "partial/large-message", "partial/slow-echo",
         "shutdown/clean-close"}, set(),
        {"partial/slow-echo": "only part", "shutdown/clean-close": "RST"},
    ),
    "send_not_sendall": (
        {"errors/closed-early", "partial/large-message"}, set(),
        {"partial/large-message": "sendall"},
    ),
    "traceback_on_error": (
        {"errors/closed-early", "errors/refused"}, set(),
        {"errors/refused": "traceback", "errors/closed-early": "traceback"},
    ),
    "hangs_on_early_close": ({"errors/closed-early"}, set(), {"errors/closed-early": "hung"}),
    "prints_repr": (  # also exits 0 when the server closes early
        {"echo/prints-echo", "errors/closed-early"}, AFTER_ECHO,
        {"echo/prints-echo": "did not print the echo"},
    ),
    "exit_zero_on_error": (
        {"errors/closed-early", "errors/refused"}, set(),
        {"errors/refused": "status 0"},
    ),
    "resets_on_close": ({"echo/prints-echo"}, AFTER_ECHO, {"echo/prints-echo": "RST"}),
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs("tcp-echo-client", KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade("tcp-echo-client")
    assert not_passed(result) == set()
    assert result.status == "passed"


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected_failed, expected_skipped, reasons = KNOWN_BUGS[bug]
    assert_known_bug(bug_results[bug], expected_failed | expected_skipped, expected_skipped, reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    assert set().union(*(failed(result) for result in bug_results.values())) == ALL


@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once("tcp-echo-client"))


def test_refused_port_stays_refused_while_the_client_runs() -> None:
    """errors/refused holds its port: no other socket can listen there meanwhile."""
    with refusing_port() as port, socket.socket() as other:
        with pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
            pass


STARVED = Path(__file__).resolve().parent / "programs" / "starved_single_recv_client.py"


def test_slow_echo_fails_a_one_recv_client_however_late_it_reads() -> None:
    """A one-recv() client that reads only 1 s after sending (as a starved one would) still
    gets one byte from it: each byte of the echo is sent once the client has read the one
    before.  With bytes 5 ms apart it found the whole echo in its one recv() and passed."""
    result = grade("tcp-echo-client", STARVED, select=("echo/*", "partial/slow-echo"))
    assert failed(result) == {"partial/slow-echo"}, [v.reason for v in result.verdicts]
    probe = verdict(result, "partial/slow-echo")
    assert "only part" in probe.reason, probe.reason
    assert any("each once the program had read the one before" in line
               for line in probe.transcript), list(probe.transcript)


@pytest.mark.parametrize(("program", "state"), [
    ("never_connects_client.py", "every thread blocked, waiting for an event"),
    ("spins_before_connecting_client.py", "running or waiting for a CPU"),
])
def test_a_client_that_never_connects_is_told_what_it_was_doing(program: str, state: str) -> None:
    """The evidence of "never connected" gives the client's state at the deadline and the CPU
    it used, so a client blocked elsewhere is told from one that was busy (or starved)."""
    result = grade("tcp-echo-client", STARVED.parent / program, select=("echo/prints-echo",))
    assert failed(result) == {"echo/prints-echo"}
    probe = verdict(result, "echo/prints-echo")
    assert probe.reason == "the client never connected", probe.reason
    details = [d for d in probe.evidence.details if d.startswith("at the deadline: ")]
    assert details and state in details[0] and "CPU s used" in details[0], probe.evidence.details
    # killed at the end of its 0.5 s to exit, and the transcript says in what state
    assert any(line.endswith("killed") and f"at the deadline ({state}" in line
               for line in probe.transcript), list(probe.transcript)
