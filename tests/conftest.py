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

#: Workers for ``-n auto``: the suite mostly waits on sockets, timers and known bugs' reply
#: deadlines, so there are more workers than cores.  On the project's 2-core machine three
#: kept the cores 59% busy (13.9 min) and four 67% (12.1 min, the same 1,817 tests passing).
#: Four once drove a slower 2-core machine to a load average of 20, where reference programs
#: missed 2 s reply deadlines; that was before programs started by ``vfork`` and probes
#: stopped walking ``/proc`` (a quarter less CPU), and the load average now stays near 7.
#: Six are past the point of gain: 16.3 min at a load average of 17-20, where two Docker
#: gradings of client-lab references failed (a chat client that never connected, a UDP
#: client none of whose datagrams arrived in 10 s; not reproduced since, 2026-12-01).  On a
#: faster 2-core machine six took 10.0 and 10.1 min, and four 9.9 min once its caches were
#: warm (11.5 on its first run): no gain there either, so four stay.  On a later machine
#: (same code, one run each, 1,841 tests): four took 10.8 min with the cores 78% busy on
#: average; eight 8.9 min, all passing, with the cores saturated and each test 1.55 times
#: as long; six 9.4 min, with two Docker client-lab tests failing.  The suite is bound by
#: CPU past four workers, and the time more workers save is bought with every timing in it
#: stretched, so four stay.  On the machine after that, once a read's deadline was judged
#: only on a program that had the CPU: four took 10.2 and 11.0 min (the cores 78% busy), six
#: 8.9 and 9.7 min, all passing twice (91% busy).  On the machine after that (2026-12-02),
#: with CI's virtual environment (a fifth less CPU): four 11.8 min (79% busy); six 10.0 min
#: all passing, then 9.6 and 9.8 min with one and three failures (a fork bomb's error, since
#: fixed; a Docker UDP client that started 8 s late and was killed at 10 s; the client
#: pacing's look right after a write to stdin).  Four stay: a red run costs more than the
#: two minutes.
#: ``SOCKGRADE_TEST_WORKERS`` overrides it.
WORKERS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many workers ``-n auto`` starts: WORKERS, one without network namespaces."""
    chosen = os.environ.get("SOCKGRADE_TEST_WORKERS")
    if chosen:
        return int(chosen)
    return WORKERS if netns.available() else 1


#: The first pytest whose node ids ignore pytest-xdist's ``@GROUP`` suffix (see below).
GROUPS_IGNORED_FROM = (9, 2)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse, in one line, a pytest with which ``--dist loadgroup`` ignores ``xdist_group``."""
    if (getattr(config.option, "dist", None) == "loadgroup"
            and tuple(pytest.version_tuple[:2]) >= GROUPS_IGNORED_FROM):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} makes --dist loadgroup ignore xdist_group "
            f"(pytest-dev/pytest-xdist#1386), so tests that pin a port would run at once: "
            f"install the pytest that pyproject.toml's test extra names (pytest<9.2)")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail the run when ``--dist loadgroup`` would ignore ``xdist_group`` marks.

    The tests that pin a port on the shared loopback (or share module fixtures) rely on
    their group running on one worker, one test after another.  pytest-xdist marks a grouped
    test by suffixing its node id with ``@GROUP``; with pytest 9.2 that suffix silently stops
    taking effect (pytest-dev/pytest-xdist#1386) and such tests ran at once on different
    workers, colliding on their port.  :func:`pytest_configure` refuses that pytest up front; a
    worker that still sees a grouped test without the suffix stops the run.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"--dist loadgroup ignores xdist_group with pytest {pytest.__version__} "
                f"(pytest-dev/pytest-xdist#1386): {item.nodeid} would run on any worker; "
                f"install the pytest that pyproject.toml's test extra names")


@pytest.fixture(scope="session", autouse=True)
def _shared_gradings(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> None:
    """Point :func:`helpers.graded` at the folder every worker of this run shares."""
    base = tmp_path_factory.getbasetemp()
    helpers.SHARED[:] = [(base if worker_id == "master" else base.parent) / "gradings"]


@pytest.fixture(scope="session", autouse=True)
def _bytecode_cache() -> None:
    """Let the ``sockgrade`` processes the tests start reuse compiled bytecode.

    Some machines set ``PYTHONDONTWRITEBYTECODE`` for every process; then each
    ``python -m grader`` the suite starts compiled the whole grader again, about 0.3 s of CPU
    a start on this project's 2-core machine.  The suite drops it for the processes it
    starts, so the first start writes ``__pycache__`` (git ignores it) and the others read
    it.  (``PYTHONPYCACHEPREFIX`` is no way out: programs that may not write bytecode would
    then look for the standard library's bytecode there too, and compile it at every
    start.)  Student programs are not affected: the local launcher sets
    ``PYTHONDONTWRITEBYTECODE`` for them itself.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
