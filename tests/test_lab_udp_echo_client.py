"""udp-echo-client (docs/labs.md §15): the reference passes, each known bug fails exactly its
probes for the stated reason, and verdicts repeat exactly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from dockerkit import docker_image, docker_launcher  # noqa: F401
from helpers import (
    BUGS,
    Gradings,
    assert_all_passed_alike,
    assert_known_bug,
    failed,
    grade,
    grade_known_bugs,
    not_passed,
    signature,
    verdict,
)

from grader.assignment import load

LAB = "udp-echo-client"
ALL = {c.name for c in load(LAB).probes}
#: Every probe but the two error probes depends (directly or not) on echo/prints-reply.
AFTER_BASIC = ALL - {"echo/prints-reply", "errors/no-server", "errors/silent-server"}

# bug file -> (the exact probes that fail, the exact probes skipped,
#              {probe: words its reason, hint or evidence must contain}).
# errors/no-server and errors/silent-server need no working echo: they run for every client.
KNOWN_BUGS: dict[str, tuple[set[str], set[str], dict[str, str]]] = {
    "recvfrom_trusts_anyone": (
        {"robustness/foreign-sender"}, set(),
        {"robustness/foreign-sender": "from another port"},
    ),
    "no_retransmit": (
        {"retransmit/first-dropped"}, {"retransmit/late-reply"},
        {"retransmit/first-dropped": "never sent it again"},
    ),
    "prints_every_reply": (
        {"retransmit/duplicated-reply", "retransmit/late-reply"}, set(),
        {"retransmit/duplicated-reply": "2 times", "retransmit/late-reply": "2 times"},
    ),
    "traceback_on_refused": ({"errors/no-server"}, set(), {"errors/no-server": "traceback"}),
    "recv_1024": (
        {"partial/largest-datagram"}, set(),
        {"partial/largest-datagram": "truncated reply (1024 of 65507 bytes)"},
    ),
    "no_timeout": (
        {"retransmit/first-dropped", "errors/silent-server"}, {"retransmit/late-reply"},
        {"retransmit/first-dropped": "waited forever", "errors/silent-server": "hung"},
    ),
    "latin1_decode": ({"echo/non-ascii"}, set(), {"echo/non-ascii": "Latin-1"}),
    "appends_newline": (
        {"echo/prints-reply"}, AFTER_BASIC, {"echo/prints-reply": "no newline added"},
    ),
    "exit_zero_on_error": (
        {"errors/no-server", "errors/silent-server"}, set(),
        {"errors/no-server": "status 0", "errors/silent-server": "status 0"},
    ),
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


def test_the_retry_time_is_in_the_transcript() -> None:
    result = grade(LAB, select=("echo/prints-reply", "retransmit/first-dropped"))
    retry = next(v for v in result.verdicts if v.name == "first-dropped")
    assert any("retransmission" in line and " s after the first request" in line
               for line in retry.transcript), retry.transcript


def test_reference_verdicts_repeat_20_times_in_parallel() -> None:
    with ThreadPoolExecutor(10) as pool:
        assert_all_passed_alike(list(pool.map(lambda _: grade(LAB), range(20))))


def test_a_known_bug_gets_the_same_verdicts_5_times() -> None:
    bug = BUGS / LAB / "prints_every_reply.py"
    with ThreadPoolExecutor(5) as pool:
        runs = list(pool.map(lambda _: grade(LAB, bug), range(5)))
    assert len({tuple(signature(run)) for run in runs}) == 1, [failed(run) for run in runs]
    assert failed(runs[0]) == KNOWN_BUGS["prints_every_reply"][0]


@pytest.mark.docker
@pytest.mark.usefixtures("docker_image")
def test_docker_gives_the_same_verdicts_as_local() -> None:
    """The grader's UDP server is reached through the sandbox firewall (the client's own grader
    port, UDP), the stranger's datagram and the ICMP port unreachable reach the container: the
    reference passes, and a recvfrom() that trusts anyone fails the same probe as locally."""
    bug = BUGS / LAB / "recvfrom_trusts_anyone.py"
    with docker_launcher() as launcher, ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(grade, LAB, target, launcher=chosen)
                   for chosen in (None, launcher) for target in (None, bug)]
        local, boxed = [f.result() for f in futures[:2]], [f.result() for f in futures[2:]]
    assert_all_passed_alike([local[0], boxed[0]])
    assert_known_bug(boxed[1], *KNOWN_BUGS["recvfrom_trusts_anyone"][:2],
                     KNOWN_BUGS["recvfrom_trusts_anyone"][2])
    assert [signature(r) for r in local] == [signature(r) for r in boxed]
    # the reference says "port unreachable" only on ConnectionRefusedError: the ICMP came back
    no_server = verdict(boxed[0], "errors/no-server")
    assert any("port unreachable" in line for line in no_server.transcript), no_server.transcript
