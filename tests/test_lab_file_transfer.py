"""file-transfer-server (docs/labs.md §10): the reference passes every probe, each known bug fails
exactly its probes for the stated reason, nothing escapes the grader's temporary tree, and
verdicts repeat exactly.

Gradings are independent, so they run concurrently in threads: every known
bug is graded once, up front, by a module fixture.
"""

from __future__ import annotations

import tempfile
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
from grader.verdict import Outcome

LAB = "file-transfer-server"
ALL = {c.name for c in load(LAB).probes}
AFTER_START = ALL - {"startup/listens"}
THREE = "concurrency/three-uploads"

# bug file -> (the exact probes that do not pass, {probe: words its verdict must contain})
KNOWN_BUGS: dict[str, tuple[set[str], dict[str, str]]] = {
    "wrong_argv_order": (ALL, {"startup/listens": "crashed at start"}),
    "no_newline_reply": (AFTER_START, {"upload/text-file": "the reply line never ended"}),
    "decode_text": (
        {"upload/binary-20mib"},  # the other uploads carry printable text
        {"upload/binary-20mib": "SHA-256"},
    ),
    "lazy_open": ({"upload/empty-file"}, {"upload/empty-file": "no file 'empty.txt'"}),
    "latin1_name": ({"upload/non-ascii-name"}, {"upload/non-ascii-name": "decode the name"}),
    "traversal_accepted": (
        {"security/traversal", "security/separators"},
        {"security/traversal": "wrote outside its folder", "security/separators": "not refused"},
    ),
    "inside_check_only": ({"security/separators"}, {"security/separators": "not refused"}),
    "trusts_recv": ({"partial/split-header"}, {"partial/split-header": "recv(n) returns at most"}),
    "header_in_first_recv": (
        {"partial/split-header"},
        {"partial/split-header": "no reply, the connection was closed"},
    ),
    "write_direct": ({"robustness/cut-short"}, {"robustness/cut-short": "temporary file"}),
    "iterative": ({THREE}, {THREE: "while upload 1 was still in progress"}),
    "never_closes": (
        {"shutdown/closes-after-reply", "resources/no-fd-leak"},
        {"shutdown/closes-after-reply": "did not close", "resources/no-fd-leak": "grew from"},
    ),
    "dies_on_reset": (
        # an iterative server (three-uploads is advice) with no handling: resets kill it
        {"robustness/client-reset", "robustness/reset-before-reply", THREE},
        {"robustness/client-reset": "ConnectionResetError"},
    ),
    "stops_after_100": (
        {"robustness/sequential-clients"},
        {"robustness/sequential-clients": "stops serving after a number of clients"},
    ),
    "busy_idle": (
        {"resources/idle-cpu", "resources/idle-cpu-client"},
        {"resources/idle-cpu": "busy loop", "resources/idle-cpu-client": "busy loop"},
    ),
}

# bug file -> the exact probes skipped (a dependency failed); the rest of its set failed
SKIPPED: dict[str, set[str]] = {
    "wrong_argv_order": AFTER_START,
    "no_newline_reply": AFTER_START - {"upload/text-file"},
}


def scratch_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("sockgrade-scratch-*"))


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs(LAB, KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade(LAB)
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0
    folder = Path(result.command[-1])
    assert folder.name == "store" and folder.parent.name.startswith("sockgrade-scratch-")
    assert not folder.parent.exists()  # the runner removed the instance's scratch tree


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected, reasons = KNOWN_BUGS[bug]
    result = bug_results[bug]
    assert_known_bug(result, expected, SKIPPED.get(bug, set()), reasons)


def test_an_iterative_file_server_passes_every_required_probe(
        bug_results: Gradings[str]) -> None:
    """Lab 10 does not require concurrency: three-uploads is advice, not a failure."""
    result = bug_results["iterative"]
    assert result.status == "passed" and result.score == result.max_score
    assert [f"{v.category}/{v.name}" for v in result.verdicts if v.advice] == [THREE]


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    failed_somewhere = set().union(*(failed(result) for result in bug_results.values()))
    assert failed_somewhere == ALL


def test_traversal_writes_stay_in_the_graders_tree(bug_results: Gradings[str]) -> None:
    """The traversal bug really wrote beside its folder (the probe saw it on disk), and the
    runner removed that tree with the instance: nothing is left behind."""
    v = verdict(bug_results["traversal_accepted"], "security/traversal")
    assert any("security-traversal-dotdot.txt" in line for line in v.evidence.lines())
    leftovers = {p for p in scratch_dirs() if (p / "security-traversal-dotdot.txt").exists()}
    assert leftovers == set()


def test_scratch_placeholder_only_when_asked() -> None:
    """An assignment without {scratch} gets no scratch folder (tcp-echo-server's command)."""
    result = grade("tcp-echo-server", select=("startup/listens",))
    assert not any("sockgrade-scratch-" in word for word in result.command)


@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(LAB))
