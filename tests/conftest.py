"""pytest configuration: make ``tests/helpers.py`` importable; share gradings between workers.

The suite runs on several pytest-xdist workers (``-n auto`` in pyproject's addopts;
:func:`pytest_xdist_auto_num_workers` says how many).  Every worker of one run stores the
gradings it makes in the same folder, the parent of the workers' own base temporary
folders (pytest-xdist's documented way to share session data); pytest removes it with
its other old temporary folders.  Ports need no sharing out: each local program gets a
network namespace of its own (grader.launch.netns), so two workers grading fixed-port
servers at once never meet.  Without namespaces (not root) they would, so the suite
then runs on one worker.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import helpers

from grader.launch import netns

#: Workers for ``-n auto``: the suite mostly waits on sockets and timers, so three keep two
#: cores busy (four drove a slower 2-core machine to a load average of 20, where reply
#: deadlines of 2 s were missed by reference programs).  ``SOCKGRADE_TEST_WORKERS``
#: overrides it.
WORKERS = 3


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many workers ``-n auto`` starts: WORKERS, one without network namespaces."""
    chosen = os.environ.get("SOCKGRADE_TEST_WORKERS")
    if chosen:
        return int(chosen)
    return WORKERS if netns.available() else 1


@pytest.fixture(scope="session", autouse=True)
def _shared_gradings(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> None:
    """Point :func:`helpers.graded` at the folder every worker of this run shares."""
    base = tmp_path_factory.getbasetemp()
    helpers.SHARED[:] = [(base if worker_id == "master" else base.parent) / "gradings"]
