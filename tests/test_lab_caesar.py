"""caesar-server (docs/labs.md §8): the reference passes every probe, each known bug fails exactly
its probes for the stated reason, and verdicts repeat exactly.

Gradings are independent, so they run concurrently in threads: every known
bug is graded once, up front, by a module fixture.
"""

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
)

from grader.assignment import load
from grader.bundle import REFERENCE_DIR
from grader.verdict import Outcome

LAB = "caesar-server"
ALL = {c.name for c in load(LAB).probes}
AFTER_START = ALL - {"startup/listens"}

# bug file -> (the exact probes that do not pass, {probe: words its verdict must contain})
KNOWN_BUGS: dict[str, tuple[set[str], dict[str, str]]] = {
    "one_recv": (
        {"partial/split-request", "partial/long-text"},
        {"partial/split-request": "one recv() taken as the whole request"},
    ),
    "python2": (ALL, {"startup/listens": "Python 2"}),
    "py2_strings": (AFTER_START, {"cipher/encrypt": "khoor."}),
    "no_mod26": ({"shift/99"}, {"shift/99": "modulo 26"}),
    "shift_range_checked": (
        {"shift/00", "shift/26", "shift/99"},
        {"shift/00": "answered with 'ERR.'", "shift/26": "answered with 'ERR.'"},
    ),
    "op_ignored": (
        {"cipher/decrypt", "cipher/round-trip", "shift/99", "cipher/non-letters"},
        {"cipher/decrypt": "SHIFT places left"},
    ),
    "shifts_uppercase": ({"cipher/non-letters"}, {"cipher/non-letters": "only the bytes a-z"}),
    "dies_on_malformed": (
        {"errors/malformed"},
        {"errors/malformed": "ValueError"},
    ),
    "adds_newline": (
        {"shutdown/closes-after-reply"},
        {"shutdown/closes-after-reply": "1 more bytes after its reply"},
    ),
    "never_closes": (
        {"shutdown/closes-after-reply", "resources/no-fd-leak"},
        {"shutdown/closes-after-reply": "did not close", "resources/no-fd-leak": "grew from"},
    ),
    "dies_on_reset": (  # no handling at all: every moment of a reset kills it
        {"robustness/client-reset", "robustness/reset-before-reply"},
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
    "python2": AFTER_START,
    "py2_strings": AFTER_START - {"cipher/encrypt"},
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs(LAB, KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade(LAB)
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected, reasons = KNOWN_BUGS[bug]
    result = bug_results[bug]
    assert_known_bug(result, expected, SKIPPED.get(bug, set()), reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    failed_somewhere = set().union(*(failed(result) for result in bug_results.values()))
    assert failed_somewhere == ALL


def test_a_course_with_other_strings_edits_the_assignment_not_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A course whose handout ends requests with '!' and answers 'NO!' is graded by TOML alone."""
    text = (load(LAB).source.read_text()
            .replace('terminator = "."', 'terminator = "!"')
            .replace('error = "ERR."', 'error = "NO!"'))
    custom = tmp_path / "caesar-custom.toml"
    custom.write_text(text)
    server = tmp_path / "server.py"
    source = (REFERENCE_DIR / "caesar_server.py").read_text()
    server.write_text(source.replace('TERMINATOR = b"."', 'TERMINATOR = b"!"')
                            .replace('ERROR = b"ERR."', 'ERROR = b"NO!"'))
    assert not_passed(grade(str(custom), server)) == set()
    # the stock reference now fails: its '.' is plain text, and it never sees a '!'
    assert "cipher/encrypt" in not_passed(grade(str(custom), None))


@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(LAB))
