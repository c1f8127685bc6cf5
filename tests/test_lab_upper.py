"""socketserver-upper-server and its variants (docs/labs.md §5): each reference passes every
probe, each known bug fails exactly its probes for the stated reason, and verdicts repeat
exactly over 20 concurrent runs."""

from __future__ import annotations

import pytest
from helpers import (
    BUGS,
    REPEAT_CHUNKS,
    Gradings,
    assert_all_passed_alike,
    assert_known_bug,
    failed,
    grade,
    grade_at_once,
    not_passed,
)

from grader.assignment import load
from grader.verdict import Outcome

TCP = "socketserver-upper-server"
THREADING = "socketserver-upper-threading-server"
UDP = "socketserver-upper-udp-server"
ASSIGNMENTS = (TCP, THREADING, UDP)


def names(assignment_id: str) -> set[str]:
    return {c.name for c in load(assignment_id).probes}


TCP_ALL = names(TCP)
TCP_AFTER_START = TCP_ALL - {"startup/listens"}
UDP_ALL = names(UDP)

# (assignment, bug file) -> (the exact probes that do not pass, {probe: words its reason,
# hint or evidence must contain})
KNOWN_BUGS: dict[tuple[str, str], tuple[set[str], dict[str, str]]] = {
    (TCP, "one_recv"): ({"partial/split-request"},
                        {"partial/split-request": "one recv() taken as the whole request"}),
    (TCP, "not_stripped"): ({"upper/strips"}, {"upper/strips": "strip the surrounding"}),
    (TCP, "not_upper"): (TCP_AFTER_START, {"upper/one-line": "upper-case the line"}),
    (TCP, "no_newline"): (TCP_AFTER_START, {"upper/one-line": "must end with \\n"}),
    (TCP, "short_readline"): ({"partial/max-line"}, {"partial/max-line": "readline() limit"}),
    (TCP, "python2"): (TCP_ALL, {"startup/listens": "Python 2"}),
    (TCP, "never_closes"): ({"shutdown/closes-after-reply", "resources/no-fd-leak"},
                            {"shutdown/closes-after-reply": "did not close",
                             "resources/no-fd-leak": "grew from"}),
    (TCP, "dies_on_reset"): ({"robustness/client-reset", "robustness/reset-before-reply"},
                             {"robustness/client-reset": "ConnectionResetError"}),
    (TCP, "handles_100"): ({"robustness/sequential-clients"},
                           {"robustness/sequential-clients": "stops serving"}),
    (TCP, "busy_poll_interval"): ({"resources/idle-cpu"}, {"resources/idle-cpu": "busy loop"}),
    (TCP, "busy_wait_request"): ({"resources/idle-cpu-client"},
                                 {"resources/idle-cpu-client": "busy loop"}),
    (THREADING, "not_threading"): ({"concurrency/silent-clients"},
                                   {"concurrency/silent-clients": "ThreadingMixIn"}),
    (THREADING, "one_recv"): ({"partial/split-request"},
                              {"partial/split-request": "one recv() taken as the whole"}),
    (UDP, "python2"): (UDP_ALL, {"startup/bound": "Python 2"}),
    (UDP, "not_upper"): (UDP_ALL - {"startup/bound"}, {"upper/one-datagram": "upper-case"}),
    (UDP, "not_stripped"): ({"upper/strips"}, {"upper/strips": "strip the surrounding"}),
    (UDP, "shared_address"): ({"robustness/many-clients"},
                              {"robustness/many-clients": "client 1 got nothing"}),
    (UDP, "busy_poll_interval"): ({"resources/idle-cpu"}, {"resources/idle-cpu": "busy loop"}),
}

# (assignment, bug file) -> the exact probes skipped (a dependency failed); the rest failed
SKIPPED: dict[tuple[str, str], set[str]] = {
    (TCP, "not_upper"): TCP_AFTER_START - {"upper/one-line"},
    (TCP, "no_newline"): TCP_AFTER_START - {"upper/one-line"},
    (TCP, "python2"): TCP_AFTER_START,
    (UDP, "python2"): UDP_ALL - {"startup/bound"},
    (UDP, "not_upper"): UDP_ALL - {"startup/bound", "upper/one-datagram"},
}


def grade_bug(key: tuple[str, str]):  # type: ignore[no-untyped-def]
    assignment_id, bug = key
    return grade(assignment_id, BUGS / assignment_id / f"{bug}.py")


@pytest.fixture(scope="module")
def bug_results() -> Gradings[tuple[str, str]]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return Gradings({key: (key[0], BUGS / key[0] / f"{key[1]}.py") for key in KNOWN_BUGS})


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_reference_passes_every_probe(assignment_id: str) -> None:
    result = grade(assignment_id)
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0


@pytest.mark.parametrize("key", sorted(KNOWN_BUGS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_known_bug_fails_exactly_its_probes(key: tuple[str, str], bug_results) -> None:  # type: ignore[no-untyped-def]
    expected, reasons = KNOWN_BUGS[key]
    result = bug_results[key]
    assert_known_bug(result, expected, SKIPPED.get(key, set()), reasons)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_every_probe_is_failed_by_some_known_bug(assignment_id: str, bug_results) -> None:  # type: ignore[no-untyped-def]
    """Each probe an assignment runs is failed by a known bug of an assignment of its suite
    (the threading variant runs the TCP variant's probe functions), in the gradings themselves."""
    family = load(assignment_id).family
    failed_somewhere = set().union(*(failed(result) for (aid, _), result in bug_results.items()
                                     if load(aid).family == family))
    assert names(assignment_id) <= failed_somewhere


def test_concurrency_is_required_only_in_the_threading_variant() -> None:
    assert "concurrency/silent-clients" not in TCP_ALL
    assert load(THREADING).probe("concurrency/silent-clients").tier.value == "required"


@pytest.mark.slow
@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_reference_verdicts_repeat_20_times_under_load(assignment_id: str, chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(assignment_id))
