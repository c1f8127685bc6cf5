"""Shared test helpers: grade a program in-process and summarise the verdicts.

Every known-bug test follows one pattern: grade the program with the real
runner and a real launcher over real sockets, then assert the exact set of
probe names (``category/name``) that did not pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.assignment import load
from grader.launch.base import Launcher
from grader.launch.local import LocalLauncher
from grader.runner import GradeResult, Runner, RunOptions
from grader.settings import DEFAULT_SEED, reference_submission
from grader.submission import Submission, from_command, from_path
from grader.verdict import Outcome

TESTS = Path(__file__).resolve().parent
BUGS = TESTS / "bugs"
ROOT = TESTS.parent


def grade(
    assignment_id: str,
    target: str | Path | None = None,
    *,
    command: list[str] | None = None,
    launcher: Launcher | None = None,
    **options: object,
) -> GradeResult:
    """Grade ``target`` (a path; None for the reference) or ``command`` on an assignment."""
    assignment = load(assignment_id)
    submission: Submission
    if command is not None:
        submission = from_command(command, cwd=TESTS)
    elif target is None:
        submission = reference_submission(assignment)
    else:
        submission = from_path(str(target), assignment)
    opts = RunOptions(seed=int(options.pop("seed", DEFAULT_SEED)), **options)  # type: ignore[arg-type]
    chosen = launcher or LocalLauncher()
    try:
        return Runner(assignment, submission, chosen, opts).run()
    finally:
        if launcher is None:
            chosen.close()


def not_passed(result: GradeResult) -> set[str]:
    """Names (``category/name``) of probes that failed or were skipped."""
    return {f"{v.category}/{v.name}" for v in result.verdicts
            if v.outcome in (Outcome.FAILED, Outcome.SKIPPED)}


def failed(result: GradeResult) -> set[str]:
    """Names of probes whose verdict is ``failed``."""
    return {f"{v.category}/{v.name}" for v in result.verdicts if v.outcome is Outcome.FAILED}


def skipped(result: GradeResult) -> set[str]:
    """Names of probes whose verdict is ``skipped``."""
    return {f"{v.category}/{v.name}" for v in result.verdicts if v.outcome is Outcome.SKIPPED}


def errors(result: GradeResult) -> set[str]:
    """Names of probes whose verdict is ``error`` (grader faults)."""
    return {f"{v.category}/{v.name}" for v in result.verdicts if v.outcome is Outcome.ERROR}


def assert_known_bug(result: GradeResult, not_passing: set[str], skipped_expected: set[str],
                     reasons: dict[str, str]) -> None:
    """A known-bug grading failed exactly ``not_passing - skipped_expected``, skipped exactly
    ``skipped_expected``, had no grader error, and each failure in ``reasons`` says its words."""
    odd = [(v.probe_id, v.outcome.value, v.reason) for v in result.verdicts
           if v.outcome is not Outcome.PASSED]
    assert failed(result) == not_passing - skipped_expected, (
        f"failed: {sorted(failed(result))}, expected {sorted(not_passing - skipped_expected)}; {odd}")
    assert skipped(result) == skipped_expected, (
        f"skipped: {sorted(skipped(result))}, expected {sorted(skipped_expected)}; {odd}")
    assert not errors(result), odd
    for probe, words in reasons.items():
        v = verdict(result, probe)
        assert v.outcome is Outcome.FAILED, (probe, v.outcome, v.reason)
        text = " ".join([v.reason, v.hint, *v.evidence.lines()])
        assert words in text, f"{probe}: {words!r} not in {text!r}"


def signature(result: GradeResult) -> list[tuple[str, str]]:
    """(probe id, outcome) pairs: what must be identical between repeated runs."""
    return [(v.probe_id, v.outcome.value) for v in result.verdicts]


def assert_all_passed_alike(results: list[GradeResult] | tuple[GradeResult, ...]) -> None:
    """Every run has the same (probe, outcome) list and every probe passed.

    On failure the message lists each verdict that did not pass, with its reason and the
    end of its transcript, so a rare difference between runs can be diagnosed from CI logs.
    """
    runs = [signature(r) for r in results]
    odd = [(v.probe_id, v.outcome.value, v.reason, list(v.transcript)[-6:])
           for r in results for v in r.verdicts if v.outcome is not Outcome.PASSED]
    assert all(run == runs[0] for run in runs), odd
    assert all(outcome == "passed" for _, outcome in runs[0]), odd


def verdict(result: GradeResult, name: str):  # type: ignore[no-untyped-def]
    """The verdict of probe ``category/name``."""
    for v in result.verdicts:
        if f"{v.category}/{v.name}" == name:
            return v
    raise KeyError(name)


def grade_known_bugs(lab: str, bugs: Iterable[str], *, jobs: int = 2) -> dict[str, GradeResult]:
    """Grade ``tests/bugs/<lab>/<bug>.py`` for every bug, ``jobs`` at a time, in the given order."""
    with ThreadPoolExecutor(jobs) as pool:
        futures = {bug: pool.submit(grade, lab, BUGS / lab / f"{bug}.py") for bug in bugs}
        return {bug: future.result() for bug, future in futures.items()}
