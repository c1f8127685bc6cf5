"""Shared test helpers: grade a program in-process and summarise the verdicts.

Every known-bug test follows one pattern: grade the program with the real
runner and a real launcher over real sockets, then assert the exact set of
probe names (``category/name``) that did not pass.

The suite runs in parallel (pytest-xdist, ``-n`` in pyproject's addopts): a
known-bug program is graded by whichever worker first needs it, once per
test session, and kept (pickled) in a folder shared by the session's workers
(:func:`graded`), so a test that looks at every bug of a lab reuses the
gradings the per-bug tests made on other workers, and no grading runs twice.
A file lock per grading makes a second worker wait for the first instead of
grading again.  Repeat tests grade a reference in :data:`REPEAT_CHUNKS`
chunks of :data:`AT_ONCE` concurrent gradings, so the workers share them.
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections.abc import Hashable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

from grader.assignment import load
from grader.launch.base import Launcher
from grader.launch.local import LocalLauncher
from grader.runner import GradeResult, Runner, RunOptions
from grader.settings import DEFAULT_SEED, reference_submission
from grader.submission import Submission, from_command, from_path
from grader.verdict import Outcome

K = TypeVar("K", bound=Hashable)

TESTS = Path(__file__).resolve().parent
BUGS = TESTS / "bugs"
ROOT = TESTS.parent


def grade(
    assignment_id: str,
    target: str | Path | None = None,
    *,
    command: list[str] | None = None,
    launcher: Launcher | None = None,
    startup: float | None = None,
    **options: object,
) -> GradeResult:
    """Grade ``target`` (a path; None for the reference) or ``command`` on an assignment.

    ``startup`` (seconds) replaces the assignment's startup deadline, as a teacher's
    assignment file may: for a test program that does slow work of its own before it listens.
    """
    assignment = load(assignment_id)
    if startup is not None:
        assignment = replace(assignment, timeouts=replace(assignment.timeouts, startup=startup))
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


def unpassed_story(result: GradeResult) -> str:
    """Every verdict that did not pass: its outcome, reason and the end of its transcript,
    for an assertion's message (a rare difference under load is diagnosed from CI logs)."""
    return "\n".join(f"{v.probe_id}: {v.outcome.value}: {v.reason}\n    "
                     + "\n    ".join(list(v.transcript)[-8:])
                     for v in result.verdicts if v.outcome is not Outcome.PASSED)


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


def grade_known_bugs(lab: str, bugs: Iterable[str]) -> Gradings[str]:
    """The gradings of ``tests/bugs/<lab>/<bug>.py`` for every bug, by bug name, made lazily."""
    return Gradings({bug: (lab, BUGS / lab / f"{bug}.py") for bug in bugs})


#: Gradings made in this process, by key (each one is also in the shared folder).
_GRADED: dict[str, GradeResult] = {}


#: The folder the session's workers share; conftest sets it under pytest's base temp folder
#: (removed by pytest's own retention), or a private temporary folder is made on first use.
SHARED: list[Path] = []


def _shared_folder() -> Path:
    if not SHARED:
        SHARED.append(Path(tempfile.mkdtemp(prefix="sockgrade-gradings-")))
    SHARED[0].mkdir(parents=True, exist_ok=True)
    return SHARED[0]


def graded(assignment_id: str, program: Path | None = None) -> GradeResult:
    """``program`` (None: the reference) graded on ``assignment_id`` once per test session,
    with every probe and the default seed.

    The first worker to ask grades it (holding a file lock, so another worker asking meanwhile
    waits instead of grading it twice) and stores the pickled result where every worker of
    the session finds it.
    """
    key = repr((assignment_id, str(program)))
    if key in _GRADED:
        return _GRADED[key]
    name = hashlib.sha256(key.encode()).hexdigest()[:24]
    folder = _shared_folder()
    stored = folder / f"{name}.pickle"
    with FileLock(str(folder / f"{name}.lock")):
        if stored.exists():
            result: GradeResult = pickle.loads(stored.read_bytes())
        else:
            result = grade(assignment_id, program)
            partial = stored.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(result))
            partial.replace(stored)
    _GRADED[key] = result
    return result


class Gradings(Mapping[K, GradeResult]):
    """Gradings by key, each made (or fetched) by :func:`graded` when first looked up.

    ``programs`` maps a key to (assignment id, program path or None for the reference).
    A test of one bug grades only that bug; a test over every bug of a lab finds the
    gradings other workers made.
    """

    def __init__(self, programs: Mapping[K, tuple[str, Path | None]]) -> None:
        self._programs = dict(programs)

    def __getitem__(self, key: K) -> GradeResult:
        assignment_id, program = self._programs[key]
        return graded(assignment_id, program)

    def __iter__(self) -> Iterator[K]:
        return iter(self._programs)

    def __len__(self) -> int:
        return len(self._programs)


#: A repeat test's gradings: REPEAT_CHUNKS chunks of AT_ONCE gradings run at the same time
#: (verdicts under load: the other workers' tests load the cores too), each chunk its own
#: test item so parallel workers share them.  Four at once on each of the workers drove a
#: 2-core machine to a load average of 20, far past the two busy processes that the
#: same-verdicts requirement names; the soak benchmark is where heavier load is measured.
AT_ONCE = 2
REPEAT_CHUNKS = range(10)


def grade_at_once(assignment_id: str, target: str | Path | None = None, *,
                  times: int = AT_ONCE) -> list[GradeResult]:
    """``times`` gradings of the same program started together (each its own instance)."""
    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(lambda _: grade(assignment_id, target), range(times)))
