"""A dead man's switch: local programs die with the grader, even when it is killed by SIGKILL.

Theory of operation: :func:`Watchdog.start` spawns a small helper process
(``python -m grader.launch.watchdog PID``) in a session of its own, reading
a pipe whose write end only the grader holds (close-on-exec, so no program
inherits it).  However the grader ends, SIGKILL included, the kernel closes
that end and the helper's read returns.  A grader that ends normally writes
:data:`BYE` first and the helper just exits (its programs are stopped
already, and another batch in the same process may still run its own).
Otherwise the helper kills every local program of that grader:

* the pids cgroups named after the grader's PID (as root;
  :mod:`grader.launch.cgroup`), which hold every descendant, and
* every process whose environment carries :data:`GRADER_VAR` = the grader's
  PID (the local launcher sets it; children inherit it), with its process
  group, repeated until none is left or :data:`SWEEP_SECONDS` pass.

``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that forked
the program ends, and a batch's worker threads are not the process.
Docker containers of a killed grader are removed by the next Docker run
(:mod:`grader.launch.cleanup` sweeps dead owners) or ``sockgrade cleanup``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: Environment variable naming the grader's PID in every local program.
GRADER_VAR = "SOCKGRADE_GRADER"
#: Written to the pipe by a grader ending normally: nothing to sweep.
BYE = b"bye\n"
#: Seconds the helper keeps killing (a fork bomb without a cgroup keeps spawning).
SWEEP_SECONDS = 10.0


class Watchdog:
    """The grader's end of the switch; ``start`` it, ``close`` it on a normal end."""

    def __init__(self, proc: subprocess.Popen[bytes] | None) -> None:
        self._proc = proc

    @classmethod
    def start(cls) -> Watchdog:
        """Spawn the helper for this process; a no-op watchdog when it cannot be started."""
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "grader.launch.watchdog", str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd="/", start_new_session=True)
        except OSError:
            return cls(None)
        return cls(proc)

    def close(self) -> None:
        """Tell the helper the grader ended normally, and reap it (at most 5 s)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.stdin is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.write(BYE)
            proc.stdin.flush()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tagged(grader: int) -> list[int]:
    """PIDs of the processes whose environment says ``GRADER_VAR=grader`` (not this one)."""
    needle = f"{GRADER_VAR}={grader}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def sweep(grader: int, *, seconds: float = SWEEP_SECONDS) -> int:
    """Kill every local program of the dead ``grader`` (PID); how many processes were killed."""
    from grader.launch import cgroup

    killed = 0
    deadline = time.monotonic() + seconds
    while True:
        pids = tagged(grader)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        killed += len(pids)
        if not pids or time.monotonic() >= deadline:
            break
        time.sleep(0.01)  # polls the real condition: the tagged processes being gone
    cgroup.sweep(owner=grader)
    return killed


def main(argv: list[str]) -> int:
    """The helper: wait for the grader's end; sweep unless it said :data:`BYE`."""
    grader = int(argv[0])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe ends the watch
    data = b""
    while True:
        chunk = os.read(0, 64)
        if not chunk:
            break
        data += chunk
    if data.endswith(BYE):
        return 0
    sweep(grader)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
