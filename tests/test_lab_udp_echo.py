"""udp-echo-server (docs/labs.md §6): the reference passes every probe, each known bug fails
exactly its probes for the stated reason, and verdicts repeat exactly over 20 concurrent
runs (the 1,000-datagram burst included)."""

from __future__ import annotations

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
from grader.verdict import Outcome

ID = "udp-echo-server"
ALL = {c.name for c in load(ID).probes}
AFTER_BASE = ALL - {"startup/bound"}

# bug file -> (the exact probes that do not pass, {probe: words its reason or hint must contain})
KNOWN_BUGS: dict[str, tuple[set[str], dict[str, str]]] = {
    "fixed_address": (AFTER_BASE, {"echo/one-datagram": "no reply reached the sender"}),
    "last_sender": ({"robustness/many-clients"},
                    {"robustness/many-clients": "client 1 got nothing"}),
    "truncates": ({"echo/boundaries", "echo/max-datagram"},
                  {"echo/max-datagram": "recvfrom(1024)", "echo/boundaries": "recvfrom(1024)"}),
    "drops_empty": ({"echo/empty-datagram"},
                    {"echo/empty-datagram": "not the end of a stream"}),
    "decode_text": ({"echo/binary"},  # the other probes send printable text
                    {"echo/binary": "decoding them as UTF-8 crashes"}),
    "slow_poll": ({"load/burst"}, {"load/burst": "no sleep between datagrams"}),
    "busy_poll": ({"resources/idle-cpu"}, {"resources/idle-cpu": "busy loop"}),
    "reply_from_new_socket": (AFTER_BASE, {"echo/one-datagram": "not from the server's address"}),
    "python2": (ALL, {"startup/bound": "Python 2"}),
}

# bug file -> the exact probes skipped (a dependency failed); the rest of its set failed
SKIPPED: dict[str, set[str]] = {
    "fixed_address": AFTER_BASE - {"echo/one-datagram"},
    "reply_from_new_socket": AFTER_BASE - {"echo/one-datagram"},
    "python2": ALL - {"startup/bound"},
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs(ID, KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade(ID)
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results) -> None:  # type: ignore[no-untyped-def]
    expected, reasons = KNOWN_BUGS[bug]
    result = bug_results[bug]
    assert_known_bug(result, expected, SKIPPED.get(bug, set()), reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results) -> None:  # type: ignore[no-untyped-def]
    """From the gradings themselves, not from this file's expectations."""
    failed_somewhere = set().union(*(failed(result) for result in bug_results.values()))
    assert failed_somewhere == ALL


def test_readiness_is_a_bound_socket_and_answering_is_the_base_probe() -> None:
    assignment = load(ID)
    assert assignment.readiness == "udp"
    assert all("echo/one-datagram" in c.spec.depends for c in assignment.probes
               if c.name not in ("startup/bound", "echo/one-datagram"))


@pytest.mark.slow
@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    runs = grade_at_once(ID)
    assert_all_passed_alike(runs)
    for run in runs:  # loopback loses nothing when the burst is paced: 100%, not just 99%
        burst = verdict(run, "load/burst")
        assert any("echoed 1000," in line for line in burst.transcript), burst.transcript
