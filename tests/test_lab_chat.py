"""chat-server (docs/labs.md §7): the reference passes every probe, each known bug fails
exactly its probes for the stated reason, verdicts repeat exactly over 20 concurrent runs,
and a course with other strings edits only its assignment file."""

from __future__ import annotations

import re
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
    grade_known_bugs,
    not_passed,
    verdict,
)

from grader.assignment import load
from grader.bundle import ASSIGNMENTS_DIR, REFERENCE_DIR
from grader.launch.local import LocalLauncher
from grader.net import free_port
from grader.verdict import Outcome

ID = "chat-server"
ALL = {c.name for c in load(ID).probes}
AFTER_START = ALL - {"startup/listens"}
VOLUME = {"robustness/non-reader", "robustness/leave-during-broadcast"}

# bug file -> (the exact probes that do not pass, {probe: words its reason or hint must contain})
KNOWN_BUGS: dict[str, tuple[set[str], dict[str, str]]] = {
    "python2": (ALL, {"startup/listens": "Python 2"}),
    "english_strings": (AFTER_START, {"join/welcome": "Masukkan username: "}),
    "join_notice_to_joiner": ({"join/notice"}, {"join/notice": "its own join notice"}),
    "echoes_to_sender": ({"message/not-to-sender"},
                         {"message/not-to-sender": "its own line back"}),
    "no_name_prefix": (
        AFTER_START - {"join/welcome"},
        {"message/broadcast": "'{name}: {line}'"},
    ),
    "one_recv": (
        {"partial/split-line", "partial/coalesced", "message/order-20",
         "robustness/member-reset", *VOLUME},
        {"partial/split-line": "keep the bytes in a buffer", "partial/coalesced": "several lines",
         "robustness/member-reset": "half a line"},
    ),
    "lifo_outbox": (
        {"partial/coalesced", "message/order-20", *VOLUME},
        {"message/order-20": "in another order", "robustness/non-reader": "pop()"},
    ),
    "no_leave_notice": (
        {"leave/notice", "robustness/member-reset", "robustness/leave-during-broadcast"},
        {"leave/notice": "did not receive", "robustness/member-reset": "ConnectionResetError"},
    ),
    "crash_on_reset": ({"robustness/member-reset"},
                       {"robustness/member-reset": "catch ConnectionResetError"}),
    "blocking_send": ({"robustness/non-reader"},
                      {"robustness/non-reader": "never a blocking sendall()"}),
    "mutates_table": (VOLUME, {"robustness/leave-during-broadcast": "after dodi"}),
    "busy_select": ({"resources/idle-cpu"}, {"resources/idle-cpu": "busy loop"}),
}

# bug file -> the exact probes skipped (a dependency failed); the rest of its set failed
SKIPPED: dict[str, set[str]] = {
    "python2": AFTER_START,
    "english_strings": AFTER_START - {"join/welcome"},
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


def test_mutating_the_table_is_what_breaks_the_room() -> None:
    """The mutates_table bug fails leave-during-broadcast because its broadcasting thread died
    of the dict changing size under it, not by accident (blocking_send, the same but for a
    copied table, passes that probe)."""
    # a pinned port on a shared loopback puts every probe on one server instance, whose
    # stderr the result keeps
    result = grade(ID, BUGS / ID / "mutates_table.py", port=free_port(),
                   select=("robustness/leave-during-broadcast",),
                   launcher=LocalLauncher(own_network=False))
    assert b"dictionary changed size during iteration" in result.output.stderr
    assert verdict(result, "robustness/leave-during-broadcast").outcome is Outcome.FAILED


# -- a course with other strings ---------------------------------------------------

OTHER = {
    "prompt": "Your name: ",
    "welcome": "*** Welcome to the room ***",
    "join": ">> {name} has joined",
    "message": "[{name}] {line}",
    "leave": "<< {name} has left",
}


def course_assignment(tmp_path: Path) -> Path:
    """A copy of chat-server.toml whose [protocol] lists other strings (only data edited)."""
    text = (ASSIGNMENTS_DIR / "chat-server.toml").read_text(encoding="utf-8")
    for key, value in OTHER.items():
        text, count = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text)
        assert count == 1, key
    path = tmp_path / "chat-course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def course_reference(tmp_path: Path) -> Path:
    """The course's own reference: the bundled one with the course's five strings."""
    text = (REFERENCE_DIR / "chat_server.py").read_text(encoding="utf-8")
    for key, value in OTHER.items():
        text, count = re.subn(rf'(?m)^{key.upper()} = ".*"$', f'{key.upper()} = "{value}"', text)
        assert count == 1, key
    path = tmp_path / "course_chat_server.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_course_with_other_strings_edits_only_its_assignment_file(tmp_path: Path) -> None:
    toml, program = course_assignment(tmp_path), course_reference(tmp_path)
    assert load(str(toml)).protocol["join"] == ">> {name} has joined"
    with ThreadPoolExecutor(3) as pool:
        course, handout_program, course_program = pool.map(
            lambda args: grade(*args, select=("join/*", "message/broadcast", "leave/*")),
            [(str(toml), program), (str(toml), None), (ID, program)])
    # the course's program passes the course's file...
    assert course.status == "passed" and not_passed(course) == set()
    # ...while the handout's program fails it, and the course's program fails the handout's file
    for result in (handout_program, course_program):
        welcome = verdict(result, "join/welcome")
        assert welcome.outcome is Outcome.FAILED and "prompt" in welcome.reason
    assert "'Your name: '" in verdict(handout_program, "join/welcome").hint


def test_the_english_strings_bug_passes_an_assignment_with_its_strings(tmp_path: Path) -> None:
    text = (ASSIGNMENTS_DIR / "chat-server.toml").read_text(encoding="utf-8")
    english = {"prompt": "Enter username: ", "welcome": "Welcome to the chat server!",
               "join": "{name} joined the chat", "leave": "{name} left the chat"}
    for key, value in english.items():
        text = re.sub(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text)
    toml = tmp_path / "english.toml"
    toml.write_text(text, encoding="utf-8")
    result = grade(str(toml), BUGS / ID / "english_strings.py",
                   select=("join/*", "message/*", "leave/*"))
    assert not_passed(result) == set()


@pytest.mark.slow
@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(ID))
