"""tcp-echo-server (docs/labs.md §1): the reference passes every probe, each known bug fails
exactly its probes for the stated reason, and verdicts repeat exactly."""

from __future__ import annotations

import pytest
from helpers import (
    BUGS,
    REPEAT_CHUNKS,
    TESTS,
    Gradings,
    assert_all_passed_alike,
    assert_known_bug,
    errors,
    failed,
    grade,
    grade_at_once,
    grade_known_bugs,
    not_passed,
    skipped,
    verdict,
)

from grader.assignment import load
from grader.launch.local import LocalLauncher
from grader.launch.tracked import TrackedLauncher
from grader.verdict import Outcome

ALL = {c.name for c in load("tcp-echo-server").probes}
AFTER_START = ALL - {"startup/listens"}
AFTER_ECHO = AFTER_START - {"echo/one-message"}

SECOND = "concurrency/second-client"  # informational: an iterative server fails it as advice
RESETS = {"robustness/client-reset", "robustness/reset-before-reply", "robustness/reset-during-reply"}
BULK = "robustness/reset-during-reply"  # depends on partial/large-payload

# bug file -> (the exact probes that fail, the exact probes skipped,
#              {probe: words its reason, hint or evidence must contain})
KNOWN_BUGS: dict[str, tuple[set[str], set[str], dict[str, str]]] = {
    "one_recv": (
        {"echo/binary", "echo/many-messages", "partial/backpressure", "partial/large-payload",
         "partial/one-byte-writes", "resources/idle-cpu-client"},
        {BULK},
        {"partial/one-byte-writes": "one recv per connection"},
    ),
    "send_not_sendall": ({"partial/backpressure"}, set(), {"partial/backpressure": "sendall"}),
    # Each client it serves leaves it spinning on that closed connection: it is started afresh
    # after every probe, so the probes with one client pass and those aimed at it fail.
    "no_eof_check": (
        AFTER_ECHO - {"resources/idle-cpu-client", "echo/many-messages", "echo/binary",
                      "partial/one-byte-writes", "partial/large-payload"},
        set(),
        {"resources/idle-cpu": "busy loop", "shutdown/half-close": "never closed",
         "shutdown/closes-after-client": "did not close its socket",
         "robustness/sequential-clients": "client 2 of"},
    ),
    "decode_text": (  # iterative, no exception handling: decoding and resets both kill it
        {"echo/binary", SECOND, *RESETS},
        set(),
        {"echo/binary": "UnicodeDecodeError"},
    ),
    "decode_only": ({"echo/binary"}, set(), {"echo/binary": "decodes bytes as text"}),
    "dies_on_reset": ({SECOND, *RESETS}, set(), {"robustness/client-reset": "ConnectionResetError"}),
    "dies_on_recv_reset": (
        {SECOND, "robustness/client-reset"}, set(),
        {"robustness/client-reset": "ConnectionResetError"},
    ),
    "dies_on_send_reset": (
        {SECOND, "robustness/reset-before-reply", "robustness/reset-during-reply"}, set(),
        {"robustness/reset-before-reply": "around sendall",
         "robustness/reset-during-reply": "ConnectionResetError"},
    ),
    "never_closes": (
        {"resources/no-fd-leak", "shutdown/closes-after-client", "shutdown/half-close"}, set(),
        {"shutdown/half-close": "never closed", "resources/no-fd-leak": "grew from"},
    ),
    "closes_after_first": (
        {"echo/binary", "echo/many-messages", "partial/backpressure", "partial/large-payload",
         "resources/idle-cpu-client", "shutdown/closes-after-client"},
        {BULK},
        {"echo/many-messages": "stops after the first message"},
    ),
    "adds_newline": ({"echo/one-message"}, AFTER_ECHO, {"echo/one-message": "adds a newline"}),
    "strips_newlines": ({"echo/one-message"}, AFTER_ECHO,
                        {"echo/one-message": "strips whitespace"}),
    "busy_idle": ({"resources/idle-cpu", "resources/idle-cpu-client"}, set(),
                  {"resources/idle-cpu": "busy loop"}),
    "select_write_spin": ({"resources/idle-cpu-client"}, set(),
                          {"resources/idle-cpu-client": "watches sockets for writing"}),
    "endless_after_half_close": ({"shutdown/half-close"}, set(),
                                 {"shutdown/half-close": "more than it received"}),
    "stops_after_100": (
        {SECOND, "robustness/sequential-clients"}, set(),
        {"robustness/sequential-clients": "stops serving after a number of clients"},
    ),
    "iterative": ({SECOND}, set(), {SECOND: "own thread"}),
    "hardcoded_port": ({"startup/listens"}, AFTER_START, {"startup/listens": "listens on 0.0.0.0:65432"}),
    "python2": ({"startup/listens"}, AFTER_START, {"startup/listens": "Python 2"}),
    "exits_immediately": ({"startup/listens"}, AFTER_START, {"startup/listens": "exited with status 0"}),
    "never_replies": ({"echo/one-message"}, AFTER_ECHO, {"echo/one-message": "nothing came back"}),
    "resets_on_close": ({"shutdown/half-close"}, set(), {"shutdown/half-close": "reset the connection"}),
}




@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs("tcp-echo-server", KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade("tcp-echo-server")
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected_failed, expected_skipped, reasons = KNOWN_BUGS[bug]
    assert_known_bug(bug_results[bug], expected_failed | expected_skipped, expected_skipped, reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    failed_somewhere = set().union(*(failed(result) for result in bug_results.values()))
    assert failed_somewhere == ALL


def test_hardcoded_port_passes_when_pinned() -> None:
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "hardcoded_port.py", port=65432)
    assert not_passed(result) == set()
    assert any("pinned" in note for note in result.notes)


def test_a_crashing_server_is_restarted_and_the_crash_is_charged_to_its_probe() -> None:
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "dies_on_reset.py")
    reset = verdict(result, "robustness/client-reset")
    assert any("exited with status 1" in d for d in reset.evidence.details)
    assert any("Traceback" in d for d in reset.evidence.details)
    assert any("client-reset stopped the server" in n for n in result.notes)
    # the probes after the crash ran against a fresh instance and passed
    assert verdict(result, "robustness/sequential-clients").outcome is Outcome.PASSED


def test_a_crash_that_comes_late_is_charged_to_the_probe_whose_connection_caused_it() -> None:
    """The server echoes ``echo/binary`` correctly, closes, then runs 0.3 s before it dies (as
    a starved server would): that probe waits for it and is failed with the crash; the probe
    after it is not blamed, and the crash is not missed."""
    late = grade("tcp-echo-server", TESTS / "programs" / "dies_late_on_binary.py")
    why = "\n".join(f"{v.probe_id}: {v.reason}" for v in late.verdicts)
    assert failed(late) == {"echo/binary", SECOND}, why
    assert skipped(late) == set() and errors(late) == set(), why
    died = [d for d in verdict(late, "echo/binary").evidence.details
            if "exited with status 1" in d]
    assert died and any("NUL byte" in d for d in verdict(late, "echo/binary").evidence.details)


def test_one_byte_writes_fails_a_one_recv_server_however_late_it_reads() -> None:
    """A one-recv server that reads only 0.3 s after accepting (as a starved one would) still
    gets one byte per recv(): each byte is sent once the server has read the one before.
    With bytes a few milliseconds apart it found the whole message in its one recv() and
    passed (as ``one_recv`` once did in a soak under load)."""
    result = grade("tcp-echo-server", TESTS / "programs" / "starved_one_recv.py",
                   select=("startup/*", "echo/one-message", "partial/one-byte-writes"))
    assert failed(result) == {"partial/one-byte-writes"}, [v.reason for v in result.verdicts]
    assert skipped(result) == set() and errors(result) == set()
    probe = verdict(result, "partial/one-byte-writes")
    assert "1 of " in probe.reason and "bytes back" in probe.reason, probe.reason
    assert any("each once the server had read the one before" in line
               for line in probe.transcript), list(probe.transcript)
    # after its one recv() it closed, and the next byte met a reset: the pacing did not wait
    # out a reply deadline for a connection that was gone
    assert not any("had not read" in line for line in probe.transcript), list(probe.transcript)


def test_a_server_the_last_probe_of_its_lane_stopped_is_not_started_again() -> None:
    """Nothing later needs it: the crash is charged and noted, and no third instance starts."""
    tracked = TrackedLauncher(LocalLauncher())
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "dies_on_reset.py",
                   launcher=tracked, select=("robustness/client-reset",))
    assert failed(result) == {"robustness/client-reset"}, result.verdicts
    assert any("client-reset stopped the server" in n and "restarted" not in n
               for n in result.notes), result.notes
    lanes = {c.spec.lane for c in load("tcp-echo-server").probes
             if c.name in {v.probe_id.split("/", 1)[1] for v in result.verdicts}}
    assert tracked.launches == len(lanes)  # one instance per lane, none after the crash


def test_a_server_left_spinning_on_a_closed_connection_is_started_afresh(
        bug_results: Gradings[str]) -> None:
    """``no_eof_check`` spins on the first connection a client closes: the probe that client
    belonged to passed, and the probes after it meet a fresh instance instead of a wedged one
    (they failed on message 1 before), each fresh start noted with its reason."""
    result = bug_results["no_eof_check"]
    assert verdict(result, "echo/many-messages").outcome is Outcome.PASSED
    notes = [n for n in result.notes if "started afresh" in n]
    assert len(notes) == 1, result.notes
    assert "still busy with (echo/one-message" in notes[0], notes
    assert "shutdown/half-close" in notes[0], notes  # failed, and left spinning too


def test_hung_server_skips_dependents_instead_of_timing_out_each() -> None:
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "never_replies.py")
    skipped = [v for v in result.verdicts if v.outcome is Outcome.SKIPPED]
    assert len(skipped) == len(AFTER_ECHO)
    assert all("echo/one-message" in v.reason for v in skipped)


@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once("tcp-echo-server"))
