"""Shared pieces of the Docker tests: the local test image, launchers, leftover checks.

The tests never pull: the image is built from Debian packages by
``.ci/build-image`` (cached by tag) the first time a test asks for it.  An
unreachable engine fails the test; it never skips (CI must run these).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from helpers import BUGS, ROOT, grade, not_passed

from grader.launch import cgroup, leftovers, sandboxnet
from grader.launch.docker import DockerLauncher
from grader.runner import GradeResult

IMAGE = "sockgrade/debian-python:bookworm"


def _client():  # type: ignore[no-untyped-def]
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the Docker engine is not reachable ({exc}): Docker tests must run, not skip")
    return client


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The local test image, built by .ci/build-image when missing (a few minutes, once)."""
    client = _client()
    try:
        client.images.get(IMAGE)
    except Exception:  # any failure to find it means: build it
        done = subprocess.run([str(ROOT / ".ci" / "build-image"), IMAGE], capture_output=True,
                              text=True, check=False, timeout=1800)
        if done.returncode != 0:
            pytest.fail(f".ci/build-image failed:\n{done.stderr[-2000:]}")
    finally:
        client.close()
    return IMAGE


@contextmanager
def docker_launcher(**kwargs: object) -> Iterator[DockerLauncher]:
    """A Docker launcher on the test image, closed afterwards."""
    launcher = DockerLauncher(image=IMAGE, **kwargs)  # type: ignore[arg-type]
    try:
        yield launcher
    finally:
        launcher.close()


def docker_leftovers(owner: str | None = None) -> list[str]:
    """Containers, networks and firewall chains still owned by ``owner`` (default: this process)."""
    owner = owner or leftovers.owner_id()
    client = _client()
    try:
        label = f"{leftovers.OWNER_LABEL}={owner}"
        # the low-level listings: no per-item inspect that races a removal in progress
        found = [f"container {c['Names'][0]}"
                 for c in client.api.containers(all=True, filters={"label": label})]
        found += [f"network {n['Name']}" for n in client.api.networks(filters={"label": label})]
    finally:
        client.close()
    found += [f"chain {chain}" for chain, chain_owner in sandboxnet.chain_owners().items()
              if chain_owner == owner]
    return found


def local_leftovers(marker: Path | str) -> list[str]:
    """Live processes whose command line mentions ``marker``, and this process's cgroups.

    Zombies are dead (only an exit status waiting for the parent to read) and
    do not count.
    """
    found = []
    for proc in psutil.process_iter():
        try:
            if str(marker) in " ".join(proc.cmdline()) and proc.pid != os.getpid():
                found.append(f"pid {proc.pid} ({proc.status()})")
        except psutil.Error:
            continue
    base = cgroup._base()
    if base is not None and base[0].is_dir():
        found += [f"cgroup {p.name}" for p in base[0].glob(f"{os.getpid()}-*")]
    return found


def grade_in_docker(lab: str, bugs: Iterable[str], *,
                    jobs: int = 2) -> tuple[GradeResult, dict[str, GradeResult]]:
    """``lab``'s reference and each ``tests/bugs/<lab>/<bug>.py`` graded under Docker, ``jobs``
    at a time on one launcher; asserts that the reference ran in a container and passed
    every probe.  Returns ``(reference, {bug: result})``."""
    with docker_launcher() as launcher, ThreadPoolExecutor(jobs) as pool:
        reference = pool.submit(grade, lab, launcher=launcher)
        futures = {bug: pool.submit(grade, lab, BUGS / lab / f"{bug}.py", launcher=launcher)
                   for bug in bugs}
        results = {bug: future.result() for bug, future in futures.items()}
        ref = reference.result()
    assert ref.runner == "docker"
    assert not_passed(ref) == set() and ref.status == "passed", [
        (v.probe_id, v.reason) for v in ref.verdicts if v.reason]
    return ref, results
