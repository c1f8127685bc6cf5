"""http-server (docs/labs.md §11): the reference passes every probe, each known bug fails
exactly its probes for the stated reason (every response read by h11), the secret beside the
folder stays unserved, verdicts are the same under Docker, and they repeat exactly.

Gradings are independent, so they run concurrently in threads: every known
bug is graded once, up front, by a module fixture.
"""

from __future__ import annotations

import sys
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
    skipped,
    verdict,
)

from grader.assignment import load
from grader.bundle import REFERENCE_DIR
from grader.verdict import Outcome

LAB = "http-server"
ALL = {c.name for c in load(LAB).probes}
HALF = "concurrency/half-request"
LARGE = "large/slow-reader"
AFTER_START = ALL - {"startup/listens"}

# bug file -> (the exact probes that do not pass, {probe: words its verdict must contain})
KNOWN_BUGS: dict[str, tuple[set[str], dict[str, str]]] = {
    "correct": (set(), {}),
    "no_content_length": (
        {"headers/content-length"}, {"headers/content-length": "Content-Length is None"}),
    "naive_join": (
        {"security/dot-segments", "security/encoded-dot-segments"},
        {"security/dot-segments": "served the secret file",
         "security/encoded-dot-segments": "served the secret file"}),
    "dotdot_before_decode": (
        {"security/encoded-dot-segments"},
        {"security/encoded-dot-segments": "GET /%2e%2e/"}),
    "strips_one_slash": ({"security/absolute-path"}, {"security/absolute-path": "served the secret"}),
    "nul_crash": (
        {"security/encoded-nul"},
        {"security/encoded-nul": "closed the connection without a response"}),
    "one_recv": (
        {"partial/one-byte-request", "persistence/pipelining"},
        {"partial/one-byte-request": "answered 400 Bad Request, expected 200",
         "persistence/pipelining": "one recv() may hold several requests"}),
    "head_body": ({"get/head"}, {"get/head": "followed the headers (a body)"}),
    "crash_on_malformed": (
        {"errors/bad-request-line", "errors/bad-header"},
        {"errors/bad-request-line": "expected 400: the server closed the connection",
         "errors/bad-header": "expected 400: the server closed the connection"}),
    "wrong_mimetype": (
        {"headers/content-type"},
        {"headers/content-type": ".png: 'text/plain', expected 'image/png'"}),
    "silent_close": (
        {"persistence/keep-alive", "persistence/pipelining"},
        {"persistence/keep-alive": "the second request on a kept-alive connection",
         "persistence/pipelining": "did not say 'Connection: close'"}),
    "text_mode": ({"get/binary-file"}, {"get/binary-file": "closed the connection without a response"}),
    "wrong_argv_order": (ALL, {"startup/listens": "crashed at start"}),
    "missing_blank_line": (AFTER_START, {"get/text-file": "the response head never ended"}),
    "empty_404": ({"errors/not-found"}, {"errors/not-found": "404 with 0 body bytes"}),
    "ignores_method": (
        {"errors/method-not-allowed"},
        {"errors/method-not-allowed": "POST /errors-method-not-allowed-keep.txt answered 200 OK"}),
    "query_in_name": ({"request/query-ignored"}, {"request/query-ignored": "answered 404"}),
    "no_unquote": (
        {"request/percent-encoded-name"},
        {"request/percent-encoded-name": "-a%20b.txt answered 404"}),
    "dies_on_reset": (
        {"robustness/client-reset", "robustness/reset-before-reply",
         "robustness/reset-during-reply", HALF},
        {"robustness/client-reset": "ConnectionResetError",
         "robustness/reset-during-reply": "BrokenPipeError"}),
    "busy_idle": (
        {"resources/idle-cpu", "resources/idle-cpu-client"},
        {"resources/idle-cpu": "busy loop", "resources/idle-cpu-client": "busy loop"}),
    "leaks_fds": ({"resources/no-fd-leak"}, {"resources/no-fd-leak": "grew from"}),
    "stops_after_100": (
        {"robustness/sequential-clients"},
        {"robustness/sequential-clients": "stops serving after a number of clients"}),
    "send_not_sendall": (
        {LARGE, "robustness/reset-during-reply"},
        {LARGE: "status 200, but the body stopped after"}),
}

# bug file -> the exact probes skipped (a dependency failed); the rest of its set failed
SKIPPED: dict[str, set[str]] = {
    "wrong_argv_order": AFTER_START,
    "missing_blank_line": AFTER_START - {"get/text-file"},
    "send_not_sendall": {"robustness/reset-during-reply"},  # needs large replies to work
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs(LAB, KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade(LAB)
    assert not_passed(result) == set(), [(v.probe_id, v.reason) for v in result.verdicts if v.reason]
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0
    folder = Path(result.command[-1])  # {root}: the instance's grader-owned folder
    assert folder.name == "store" and folder.parent.name.startswith("sockgrade-scratch-")
    assert not folder.parent.exists()  # the runner removed it with the instance


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected, reasons = KNOWN_BUGS[bug]
    assert_known_bug(bug_results[bug], expected, SKIPPED.get(bug, set()), reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    failed_somewhere = set().union(*(failed(result) for result in bug_results.values()))
    assert failed_somewhere == ALL


def test_an_iterative_server_fails_only_the_informational_half_request() -> None:
    """Concurrency is advice in lab 11: an iterative server passes every required probe."""
    result = grade(LAB, Path(__file__).parent / "bugs" / LAB / "iterative.py")
    assert failed(result) == {HALF} and skipped(result) == set()
    assert result.status == "passed" and result.score == result.max_score
    assert "while a client sat on half a request" in verdict(result, HALF).reason


def test_a_body_that_stops_fails_at_the_stall_with_the_sendall_hint(
        bug_results: Gradings[str]) -> None:
    """send() sends part of the file and the server waits for the next request (its own idle
    timeout is 30 s): the probe fails once no byte came for the reply timeout, and says why."""
    result = bug_results["send_not_sendall"]
    v = verdict(result, LARGE)
    assert v.evidence.transport is not None and "no further data" in v.evidence.transport
    assert "sendall()" in v.hint
    assert v.time < 25.0, f"waited {v.time:.1f} s: for the server's idle timeout, not the stall"


def test_a_command_submission_gets_the_folder_as_root() -> None:
    """``-- python server.py {host} {port} {root}``: the placeholder is the instance's folder."""
    reference = REFERENCE_DIR / "http_server.py"
    result = grade(LAB, command=[sys.executable, str(reference), "{host}", "{port}", "{root}"],
                   select=("get/text-file",))
    assert result.status == "passed" and not not_passed(result)
    assert Path(result.command[-1]).name == "store"


@pytest.mark.slow
@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(LAB))
