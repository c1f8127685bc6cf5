"""port-scanner (docs/labs.md §18): the reference passes, each known bug fails exactly its
probes for the stated reason, verdicts repeat exactly, and the grader's field is what it says
(silent ports drop SYNs, the range is reserved and unused on a shared loopback)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

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
)

from grader.assignment import load
from grader.launch import netns
from grader.launch.local import LocalLauncher
from grader.runner import GradeResult

LAB = "port-scanner"
ALL = {c.name for c in load(LAB).probes}
BASIC = "scan/open-ports"
#: Every probe that needs a working scan (all but the unresolvable host).
AFTER_BASIC = ALL - {BASIC, "errors/unresolvable"}

# bug file -> (the exact probes that fail, the exact probes skipped,
#              {probe: words its reason, hint or evidence must contain}).
KNOWN_BUGS: dict[str, tuple[set[str], set[str], dict[str, str]]] = {
    "off_by_one": ({"scan/range-ends"}, set(), {"scan/range-ends": "the last port of the range"}),
    "no_timeout": (
        {"scan/silent-ports", "scan/time-bound"}, set(),
        {"scan/silent-ports": "did not finish", "scan/time-bound": "did not finish"},
    ),
    "prints_closed": ({BASIC}, AFTER_BASIC, {BASIC: "not 'port N: OPEN'"}),
    "unsorted_set": ({"scan/ascending"}, set(), {"scan/ascending": "ascending order"}),
    "traceback_unresolvable": ({"errors/unresolvable"}, set(),
                               {"errors/unresolvable": "traceback"}),
    "timeout_is_open": (
        {"scan/silent-ports", "scan/time-bound"}, set(),
        {"scan/silent-ports": "never answer as OPEN", "scan/time-bound": "never answer as OPEN"},
    ),
    "keeps_connections": ({"resources/closes-connections"}, set(),
                          {"resources/closes-connections": "kept its connection"}),
    "keeps_exceptions": ({"resources/bounded-fds"}, set(),
                         {"resources/bounded-fds": "file descriptors"}),
    "address_only": ({"host/name"}, set(), {"host/name": "with host 'localhost'"}),
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


@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(LAB))


def test_reference_passes_on_a_shared_loopback() -> None:
    """Without a namespace of its own (a grader without root) the field is drawn below the
    servers' ports, reserved, and checked unused: the same verdicts, two gradings at once."""
    def shared(_: int) -> GradeResult:
        return grade(LAB, launcher=LocalLauncher(own_network=False))

    with ThreadPoolExecutor(2) as pool:
        assert_all_passed_alike(list(pool.map(shared, range(2))))


@pytest.mark.skipif(not netns.available(), reason="needs network namespaces (root)")
def test_a_full_accept_queue_drops_syns() -> None:
    """What a silent port is: listen(0) plus one queued connection, and a connect with a
    timeout times out (EAGAIN) instead of being refused or accepted."""
    space = netns.Namespace.create()
    try:
        with space.socket() as listener, space.socket() as filler, space.socket() as probe:
            listener.bind(("127.0.0.1", 0))
            listener.listen(0)
            filler.settimeout(5.0)
            filler.connect(listener.getsockname())
            probe.settimeout(0.3)
            started = time.monotonic()
            assert probe.connect_ex(listener.getsockname()) not in (0, 111)
            assert time.monotonic() - started >= 0.25
    finally:
        space.close()
