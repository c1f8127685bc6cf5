"""Labs 2-4 (docs/labs.md §2-§4): echo-threaded-server, echo-select-server, echo-poll-server,
echo-threadpool-server.

Each lab's reference passes every probe (required and informational); each known-bug
program fails exactly its probes, for the stated reason; 20 repeated runs of each
reference, four at a time, give identical verdicts.  Gradings are independent, so
each group runs concurrently in threads (once per module) and the tests read the
results.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
from grader.bundle import DATA_DIR, REFERENCE_DIR
from grader.verdict import Outcome

LABS = ("echo-threaded-server", "echo-select-server", "echo-poll-server", "echo-threadpool-server")
THREADED_REFERENCE = REFERENCE_DIR / "echo_threaded_server.py"

NON_READING = "concurrency/non-reading-client"
HALF_CLOSE_QUEUED = "concurrency/half-close-queued"
INTERLEAVED = "concurrency/interleaved"
MANY = "concurrency/many-clients"
SILENT = "concurrency/second-client"
BOUNDED = "process/bounded-threads"
#: A reset while a reply is owed: a program that uses a socket it closed on a read error
#: (a closed socket in the write loop) fails these too.
SEND_RESETS = {"robustness/reset-before-reply", "robustness/reset-during-reply"}

# (lab, program) -> (the exact probes that do not pass, {probe: words its reason, hint or
# evidence must contain}).  Programs from another lab's folder show a probe failing for
# the same bug in this lab too (every program here takes HOST PORT and ignores the rest).
KNOWN_BUGS: dict[tuple[str, str], tuple[set[str], dict[str, str]]] = {
    # lab 2: thread per client
    ("echo-threaded-server", "echo-threaded-server/iterative"): (
        {SILENT, MANY, NON_READING, INTERLEAVED},
        {MANY: "an iterative server serves one client at a time", NON_READING: "0 of 5 echoes"},
    ),
    ("echo-threaded-server", "echo-threaded-server/never_frees_threads"): (
        {"process/threads-freed"}, {"process/threads-freed": "still run after 20 clients left"},
    ),
    ("echo-threaded-server", "echo-threaded-server/global_conn"): (
        {MANY, NON_READING, INTERLEAVED},
        {INTERLEAVED: "its bytes went to the other client", MANY: "global socket variable",
         NON_READING: "another client's bytes arrived"},
    ),
    ("echo-threaded-server", "echo-threaded-server/lock_around_send"): (
        {NON_READING}, {NON_READING: "shared lock while sending"},
    ),
    ("echo-threaded-server", "echo-select-server/closed_socket_in_write_loop"): (
        {HALF_CLOSE_QUEUED, NON_READING, *SEND_RESETS}, {HALF_CLOSE_QUEUED: "still unsent"},
    ),
    # lab 3: select()
    ("echo-select-server", "echo-select-server/blocking_send"): (
        {NON_READING}, {NON_READING: "non-blocking"},
    ),
    ("echo-select-server", "echo-select-server/partial_send"): (
        {"partial/backpressure", HALF_CLOSE_QUEUED},
        {"partial/backpressure": "sendall"},
    ),
    ("echo-select-server", "echo-select-server/closed_socket_in_write_loop"): (
        {HALF_CLOSE_QUEUED, NON_READING, *SEND_RESETS},
        {HALF_CLOSE_QUEUED: "keep its socket until its output queue is sent",
         NON_READING: "KeyError"},
    ),
    ("echo-select-server", "echo-select-server/busy_loop"): (
        {"resources/idle-cpu-client"}, {"resources/idle-cpu-client": "busy loop"},
    ),
    ("echo-select-server", "echo-threaded-server/iterative"): (
        {SILENT, MANY, NON_READING, INTERLEAVED},
        {MANY: "an iterative server serves one client at a time"},
    ),
    ("echo-select-server", "reference/echo_threaded_server"): (
        {"process/single-threaded"}, {"process/single-threaded": "6 threads"},
    ),
    # lab 3: poll()
    ("echo-poll-server", "echo-poll-server/blocking_send"): (
        {NON_READING}, {NON_READING: "non-blocking"},
    ),
    ("echo-poll-server", "echo-poll-server/partial_send"): (
        {"partial/backpressure", HALF_CLOSE_QUEUED},
        {"partial/backpressure": "sendall"},
    ),
    ("echo-poll-server", "echo-poll-server/closed_fd_in_write_step"): (
        {HALF_CLOSE_QUEUED, NON_READING, *SEND_RESETS}, {NON_READING: "KeyError"},
    ),
    ("echo-poll-server", "echo-poll-server/pollout_always"): (
        {"resources/idle-cpu-client"}, {"resources/idle-cpu-client": "busy loop"},
    ),
    ("echo-poll-server", "echo-threaded-server/iterative"): (
        {SILENT, MANY, NON_READING, INTERLEAVED},
        {MANY: "an iterative server serves one client at a time"},
    ),
    ("echo-poll-server", "reference/echo_threaded_server"): (
        {"process/single-threaded"}, {"process/single-threaded": "6 threads"},
    ),
    # lab 4: bounded pool (N = 4, the extra argument)
    ("echo-threadpool-server", "echo-threadpool-server/unbounded"): (
        {BOUNDED}, {BOUNDED: "the thread count reached 101"},
    ),
    ("echo-threadpool-server", "echo-threadpool-server/rejects_beyond_n"): (
        {MANY, BOUNDED}, {BOUNDED: "must wait"},
    ),
    ("echo-threadpool-server", "echo-threadpool-server/ignores_pool_size"): (
        {BOUNDED}, {BOUNDED: "only 2 clients were served at once"},
    ),
    ("echo-threadpool-server", "echo-threaded-server/iterative"): (
        {SILENT, NON_READING, INTERLEAVED, BOUNDED},
        {BOUNDED: "only 1 client was served at once"},
    ),
    ("echo-threadpool-server", "echo-select-server/closed_socket_in_write_loop"): (
        {HALF_CLOSE_QUEUED, NON_READING, *SEND_RESETS}, {HALF_CLOSE_QUEUED: "still unsent"},
    ),
}

# (lab, program) -> the exact probes skipped (a dependency failed); none here
SKIPPED: dict[tuple[str, str], set[str]] = {}

#: The probes labs 2-4 add to lab 1's (lab 1's are proven in test_tcp_echo_server.py).
NEW_PROBES = {SILENT, MANY, NON_READING, INTERLEAVED, HALF_CLOSE_QUEUED,
              "process/threads-freed", "process/single-threaded", BOUNDED}


def _program(name: str) -> Path:
    return (DATA_DIR / f"{name}.py") if name.startswith("reference/") else BUGS / f"{name}.py"




@pytest.fixture(scope="module")
def bug_results() -> Gradings[tuple[str, str]]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return Gradings({key: (key[0], _program(key[1])) for key in KNOWN_BUGS})


@pytest.mark.parametrize("lab", LABS)
def test_reference_passes_every_probe(lab: str) -> None:
    result = grade(lab)
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts), [
        (v.probe_id, v.outcome, v.reason) for v in result.verdicts if v.outcome is not Outcome.PASSED]
    assert result.status == "passed" and result.score == result.max_score > 0


@pytest.mark.slow
@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
@pytest.mark.parametrize("lab", LABS)
def test_reference_verdicts_repeat_20_times_under_load(lab: str, chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(lab))


@pytest.mark.parametrize("key", sorted(KNOWN_BUGS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_known_bug_fails_exactly_its_probes(
    key: tuple[str, str], bug_results: Gradings[tuple[str, str]]
) -> None:
    expected, reasons = KNOWN_BUGS[key]
    result = bug_results[key]
    assert_known_bug(result, expected, SKIPPED.get(key, set()), reasons)


@pytest.mark.parametrize("lab", LABS)
def test_every_new_probe_of_the_lab_is_failed_by_some_known_bug(
        lab: str, bug_results: Gradings[tuple[str, str]]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    runs = {c.name for c in load(lab).probes} & NEW_PROBES
    failed_somewhere = set().union(*(failed(result) for (bug_lab, _), result in bug_results.items()
                                     if bug_lab == lab))
    assert runs <= failed_somewhere


def test_pool_size_comes_from_the_command_line() -> None:
    """The two-worker pool passes when the assignment's extra argument says N = 2."""
    program = BUGS / "echo-threadpool-server" / "ignores_pool_size.py"
    with ThreadPoolExecutor(2) as pool:
        two = pool.submit(grade, "echo-threadpool-server", program, extra=("2",),
                          select=("process/*",))
        eight = pool.submit(grade, "echo-threadpool-server", None, extra=("8",),
                            select=("process/*",))
        assert not_passed(two.result()) == set()
        assert not_passed(eight.result()) == set()


def test_hung_server_skips_the_concurrency_probes_quickly() -> None:
    result = grade("echo-select-server", BUGS / "tcp-echo-server" / "never_replies.py")
    skipped = {f"{v.category}/{v.name}" for v in result.verdicts if v.outcome is Outcome.SKIPPED}
    assert NEW_PROBES & {c.name for c in load("echo-select-server").probes} <= skipped
    assert result.duration < 10.0
