r"""A pids cgroup per local program: a task cap that holds for root, and a complete kill list.

Theory of operation: ``RLIMIT_NPROC`` counts a *user's* processes and the
kernel does not enforce it for root, so a fork bomb graded by a root grader
(CI, a teacher's container) would fill the machine's process table.  When
this process may write the cgroup file system, each local program gets a
pids cgroup of its own, named ``sockgrade/<grader pid>-<token>``:

* ``pids.max`` caps its tasks (processes *and* threads, as Docker's
  ``--pids-limit`` does): ``fork()`` fails beyond it with EAGAIN;
* every descendant inherits the membership, so neither ``setsid()`` nor a
  double fork escapes it, and ``cgroup.procs`` is the exact kill list;
* a program joins its cgroup before it can run a line of its own (the local
  launcher's trampoline writes its pid to ``cgroup.procs``, then ``exec``\ s the
  program).

cgroup v1 (a ``pids`` hierarchy) and v2 (the unified hierarchy with the
pids controller available) are supported; elsewhere :meth:`PidsCgroup.create`
returns None and the local launcher relies on rlimits and its
process-group/token kill loop.  :func:`sweep` removes the groups of dead
graders (``sockgrade cleanup``), killing anything still in them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psutil

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "sockgrade"


def _base() -> tuple[Path, int] | None:
    """(folder holding sockgrade's groups, cgroup version), or None when unavailable."""
    v1 = CGROUP_ROOT / "pids"
    if (v1 / "cgroup.procs").is_file() and not (v1 / "cgroup.controllers").exists():
        return v1 / GROUP, 1
    controllers = CGROUP_ROOT / "cgroup.controllers"
    try:
        if "pids" in controllers.read_text().split():
            return CGROUP_ROOT / GROUP, 2
    except OSError:
        pass
    return None


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class PidsCgroup:
    """One program's pids cgroup at ``path`` (see the module docstring)."""

    def __init__(self, path: Path, version: int) -> None:
        self.path = path
        self._procs = str(path / "cgroup.procs")  # read at every look at the program
        self.version = version

    @classmethod
    def create(cls, name: str, *, max_tasks: int) -> PidsCgroup | None:
        """A new group ``name`` capped at ``max_tasks`` tasks; None when cgroups are not writable."""
        found = _base()
        if found is None:
            return None
        base, version = found
        try:
            if version == 2 and not base.is_dir():
                _write(CGROUP_ROOT / "cgroup.subtree_control", "+pids")
            base.mkdir(exist_ok=True)
            if version == 2:
                _write(base / "cgroup.subtree_control", "+pids")
            path = base / name
            path.mkdir()
        except OSError:
            return None
        group = cls(path, version)
        try:
            _write(path / "pids.max", str(max_tasks))
        except OSError:
            group.remove()
            return None
        return group

    @property
    def procs_path(self) -> Path:
        """The group's ``cgroup.procs``: a process that writes its pid there joins the group
        (the local launcher's trampoline does so before it runs the program)."""
        return self.path / "cgroup.procs"

    def pids(self) -> list[int]:
        """PIDs of the processes in the group (empty once it is gone)."""
        try:
            with open(self._procs, "rb") as procs:
                text = procs.read()
        except OSError:
            return []
        return [int(word) for word in text.split()]

    def kill_all(self, *, timeout: float = 10.0) -> bool:
        """SIGKILL every member until the group is empty; True when it emptied in time.

        The group caps how many members there are, so a fork bomb cannot
        outrun the loop; v2's ``cgroup.kill`` does it in one write.
        """
        deadline = time.monotonic() + timeout
        with contextlib.suppress(OSError):
            if self.version == 2 and (self.path / "cgroup.kill").exists():
                _write(self.path / "cgroup.kill", "1")
        while True:
            members = self.pids()
            if not members:
                return True
            for pid in members:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)  # polls the real condition: the members being gone

    def remove(self) -> None:
        """Remove the (empty) group; retried briefly while exiting members detach."""
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                self.kill_all(timeout=0.05)
                time.sleep(0.01)  # polls the real condition: the group emptying


def sweep(*, everything: bool = False, owner: int | None = None) -> int:
    """Kill and remove the groups of graders that are gone (``everything``: all groups;
    ``owner``: only the groups of that grader PID, alive or not).

    Returns how many groups were removed.
    """
    found = _base()
    if found is None or not found[0].is_dir():
        return 0
    base, version = found
    removed = 0
    for path in base.iterdir():
        if not path.is_dir():
            continue
        made_by = path.name.split("-", 1)[0]
        if owner is not None:
            if made_by != str(owner):
                continue
        elif not everything and made_by.isdigit() and psutil.pid_exists(int(made_by)):
            continue
        group = PidsCgroup(path, version)
        group.kill_all(timeout=2.0)
        group.remove()
        removed += 1
    return removed
