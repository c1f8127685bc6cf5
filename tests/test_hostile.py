"""Known-hostile submissions (tests/hostile): under both runners each grading ends with a
report, leaves no process, container, network or firewall rule behind, and the next
submission is graded as if nothing happened."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dockerkit import docker_image, docker_launcher, docker_leftovers, local_leftovers  # noqa: F401
from helpers import TESTS, grade, not_passed, verdict

from grader.launch.base import Limits
from grader.launch.docker import DockerLauncher
from grader.launch.local import LocalLauncher
from grader.runner import GradeResult
from grader.verdict import Outcome

HOSTILE = TESTS / "hostile"
QUICK = ("startup/*", "echo/one-message")
NAMES = sorted(p.stem for p in HOSTILE.glob("[a-z]*.py"))
RUNNERS = ["local", pytest.param("docker", marks=pytest.mark.docker)]


def _digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        sha.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            sha.update(path.read_bytes())
    return sha.hexdigest()


def _start_reason(result: GradeResult) -> str:
    return verdict(result, "startup/listens").reason


# name -> check(result, runner, outside): what the report must say beyond "it exists"
def _big_alloc(result: GradeResult, runner: str, _outside: Path) -> None:
    assert "crashed at start" in _start_reason(result)
    stderr = result.output.stderr
    assert (b"MemoryError" if runner == "local" else b"memory limit (256 MiB)") in stderr


def _flood(result: GradeResult, runner: str, _outside: Path) -> None:
    assert not_passed(result) == set()
    assert result.output.truncated and result.output.stdout_total > Limits().output
    assert len(result.output.stdout) < 2 * Limits().output


def _orphan(result: GradeResult, runner: str, _outside: Path) -> None:
    assert "exited with status 0 before serving" in _start_reason(result)


def _serves(result: GradeResult, runner: str, _outside: Path) -> None:
    assert not_passed(result) == set()


def _writes(result: GradeResult, runner: str, outside: Path) -> None:
    assert not_passed(result) == set()
    out = result.output.stdout.decode()
    if runner == "local":  # not prevented locally (documented): the program could write it
        assert outside.read_text() == "escaped\n"
    else:
        assert not outside.exists()  # it wrote into the container's own tmpfs, not the host
        assert "could not write /etc/sockgrade-escape: [Errno 30] Read-only file system" in out
        assert "could not write /sockgrade-escape: [Errno 30] Read-only file system" in out


def _connects(result: GradeResult, runner: str, _outside: Path) -> None:
    assert not_passed(result) == set()
    attempts = [line for line in result.output.stdout.decode().splitlines()
                if line.startswith("connect-out ")]
    # Docker: a firewalled network; local (root): a network namespace with no route, so no
    # packet leaves the machine either way (the local run has no default gateway to try).
    assert len(attempts) == (2 if runner == "docker" else 1), attempts
    assert all(": blocked (" in line for line in attempts), attempts


def _any(result: GradeResult, runner: str, _outside: Path) -> None:
    """The fork bomb: whatever the probes saw, a report exists (checked by the caller)."""


CHECKS: dict[str, Callable[[GradeResult, str, Path], None]] = {
    "big_alloc": _big_alloc, "busy_loop": _serves, "connect_out": _connects,
    "flood_stdout": _flood, "fork_bomb": _any, "ignores_sigterm": _serves,
    "orphan": _orphan, "write_outside": _writes,
}


def test_every_hostile_program_has_a_check() -> None:
    assert set(NAMES) == set(CHECKS)


def _launcher(runner: str) -> LocalLauncher | DockerLauncher:
    if runner == "local":
        return LocalLauncher(own_network=True)  # root (CI): no packet may leave the machine
    from dockerkit import IMAGE

    return DockerLauncher(image=IMAGE)


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("name", NAMES)
def test_hostile_program_ends_with_a_report_and_leaves_nothing(
        name: str, runner: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if runner == "docker":
        request.getfixturevalue("docker_image")
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(HOSTILE / f"{name}.py", folder)
    outside = tmp_path / "outside" / "escape.txt"
    extra = None
    if name == "write_outside":
        extra = (str(outside),)
        if runner == "docker":
            extra += ("/etc/sockgrade-escape", "/sockgrade-escape")
    before = _digest(folder)
    launcher = _launcher(runner)
    try:
        result = grade("tcp-echo-server", folder / f"{name}.py", launcher=launcher, select=QUICK,
                       extra=extra)
    finally:
        launcher.close()
    assert [f"{v.category}/{v.name}" for v in result.verdicts] == [
        "startup/listens", "echo/one-message"]  # the report is complete
    assert not [v for v in result.verdicts if v.outcome is Outcome.ERROR]
    CHECKS[name](result, runner, outside)
    if runner == "docker":
        assert _digest(folder) == before  # the original folder is never written
        assert docker_leftovers() == []
    assert local_leftovers(folder) == []


@pytest.mark.docker
@pytest.mark.usefixtures("docker_image")
def test_a_docker_batch_of_hostile_programs_goes_on(tmp_path: Path) -> None:
    targets = []
    for name in NAMES:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(HOSTILE / f"{name}.py", folder)
        targets.append(folder / f"{name}.py")
    with docker_launcher() as launcher, ThreadPoolExecutor(3) as pool:
        results = list(pool.map(
            lambda target: grade("tcp-echo-server", target, launcher=launcher, select=QUICK),
            [*targets, None]))
    assert len(results) == len(NAMES) + 1
    assert all(len(r.verdicts) == 2 for r in results)
    assert results[-1].status == "passed"  # the reference, graded alongside them
    assert docker_leftovers() == []
