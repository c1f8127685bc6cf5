"""tcp-echo-server (LABS.md lab 1): the reference passes every probe, each known bug fails
exactly its probes for the stated reason, and verdicts repeat exactly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import BUGS, assert_all_passed_alike, grade, not_passed, verdict

from grader.assignment import load
from grader.verdict import Outcome

ALL = {c.name for c in load("tcp-echo-server").probes}
AFTER_START = ALL - {"startup/listens"}
AFTER_ECHO = AFTER_START - {"echo/one-message"}

# bug file -> (the exact probes that do not pass, {probe: words its reason or hint must contain})
KNOWN_BUGS: dict[str, tuple[set[str], dict[str, str]]] = {
    "one_recv": (
        {"echo/binary", "echo/many-messages", "partial/backpressure", "partial/large-payload",
         "partial/one-byte-writes", "resources/idle-cpu-client"},
        {"partial/one-byte-writes": "one recv per connection"},
    ),
    "send_not_sendall": ({"partial/backpressure"}, {"partial/backpressure": "sendall"}),
    "no_eof_check": (
        AFTER_ECHO - {"resources/idle-cpu-client"},
        {"resources/idle-cpu": "busy loop", "shutdown/half-close": "nothing came back"},
    ),
    "decode_text": (
        {"concurrency/second-client", "echo/binary", "partial/backpressure",
         "partial/large-payload", "robustness/client-reset"},
        {"echo/binary": "exited with status 1"},
    ),
    "dies_on_reset": (
        {"concurrency/second-client", "robustness/client-reset"},
        {"robustness/client-reset": "ConnectionResetError"},
    ),
    "never_closes": (
        {"resources/no-fd-leak", "shutdown/closes-after-client", "shutdown/half-close"},
        {"shutdown/half-close": "never closed", "resources/no-fd-leak": "grew from"},
    ),
    "closes_after_first": (
        {"echo/binary", "echo/many-messages", "partial/backpressure", "partial/large-payload",
         "resources/idle-cpu-client", "shutdown/closes-after-client"},
        {"echo/many-messages": "stops after the first message"},
    ),
    "adds_newline": (AFTER_START, {"echo/one-message": "adds a newline"}),
    "strips_newlines": (AFTER_START, {"echo/one-message": "strips whitespace"}),
    "busy_idle": ({"resources/idle-cpu", "resources/idle-cpu-client"},
                  {"resources/idle-cpu": "busy loop"}),
    "select_write_spin": ({"resources/idle-cpu-client"},
                          {"resources/idle-cpu-client": "watches sockets for writing"}),
    "endless_after_half_close": ({"shutdown/half-close"},
                                 {"shutdown/half-close": "more than it received"}),
    "stops_after_100": (
        {"concurrency/second-client", "robustness/sequential-clients"},
        {"robustness/sequential-clients": "stops serving after a number of clients"},
    ),
    "iterative": ({"concurrency/second-client"}, {"concurrency/second-client": "own thread"}),
    "hardcoded_port": (ALL, {"startup/listens": "listens on 0.0.0.0:65432"}),
    "python2": (ALL, {"startup/listens": "Python 2"}),
    "exits_immediately": (ALL, {"startup/listens": "exited with status 0"}),
    "never_replies": (AFTER_START, {"echo/one-message": "nothing came back"}),
    "resets_on_close": ({"shutdown/half-close"}, {"shutdown/half-close": "reset the connection"}),
}


def test_reference_passes_every_probe() -> None:
    result = grade("tcp-echo-server")
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str) -> None:
    expected, reasons = KNOWN_BUGS[bug]
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / f"{bug}.py")
    assert not_passed(result) == expected
    assert not [v for v in result.verdicts if v.outcome is Outcome.ERROR]
    for probe, words in reasons.items():
        v = verdict(result, probe)
        assert v.outcome is Outcome.FAILED
        text = " ".join([v.reason, v.hint, *v.evidence.lines()])
        assert words in text, f"{probe}: {words!r} not in {text!r}"


def test_every_probe_is_failed_by_some_known_bug() -> None:
    failed_somewhere = set().union(*(expected for expected, _ in KNOWN_BUGS.values()))
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


def test_hung_server_skips_dependents_instead_of_timing_out_each() -> None:
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "never_replies.py")
    skipped = [v for v in result.verdicts if v.outcome is Outcome.SKIPPED]
    assert len(skipped) == len(AFTER_ECHO)
    assert all("echo/one-message" in v.reason for v in skipped)


def test_reference_verdicts_repeat_20_times_under_load() -> None:
    with ThreadPoolExecutor(4) as pool:
        assert_all_passed_alike(list(pool.map(lambda _: grade("tcp-echo-server"), range(20))))
