"""Benchmark: what stopping one program costs the grader, with many processes on the machine.

Theory of operation: the local launcher stops a program by killing its process group
and every other process of it, until none is left (:mod:`grader.launch.local`).  Where
the program has a pids cgroup of its own (root), the cgroup's member list is the list of
what to kill; without one (not root), the launcher scans every process on the machine
for the program's process group and run token, so a stop costs more the more processes
the machine runs (a 2-core machine running the test suite has 150-250).  This script
starts ``--others`` sleeping processes, then times ``--runs`` stops of a program that
sleeps, both ways, side by side:

* ``cgroup``: the launcher as it runs as root (a pids cgroup per program);
* ``scan``: the same launcher told it has no cgroup (as without root), so it scans.

and prints per stop the wall time and the grader's CPU time (its threads: time the GIL is
held), and the ratio cgroup ÷ scan of the CPU.  Starting is not timed.  As root only.

Run:  python benchmarks/bench_stop.py [--others 150] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.launch import local  # noqa: E402
from grader.launch.base import LaunchSpec, Limits  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _stops(runs: int) -> tuple[float, float]:
    """(wall, grader CPU) per stop, in milliseconds."""
    launcher = local.LocalLauncher(own_network=False)
    spec = LaunchSpec(argv=(sys.executable, "-c", "import time; time.sleep(600)"),
                      cwd=Path.cwd(), limits=Limits())
    wall = cpu = 0.0
    try:
        for _ in range(runs):
            program = launcher.start(spec)
            began, used = time.perf_counter(), _cpu()
            program.stop()
            wall += time.perf_counter() - began
            cpu += _cpu() - used
    finally:
        launcher.close()
    return wall * 1000 / runs, cpu * 1000 / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=150, help="sleeping processes to start")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("needs root: without it no program gets a pids cgroup, and every stop scans")
    others = [subprocess.Popen(["sleep", "600"]) for _ in range(args.others)]
    try:
        running = sum(entry.isdigit() for entry in os.listdir("/proc"))
        cgroup = _stops(args.runs)
        with mock.patch.object(local.PidsCgroup, "create", classmethod(lambda cls, *a, **k: None)):
            scan = _stops(args.runs)
    finally:
        for process in others:
            process.kill()
            process.wait()
    print(f"processes on the machine: {running}, {args.others} of them started here")
    print(f"{'way':<7} {'wall ms':>8} {'grader CPU ms':>14}")
    print(f"{'cgroup':<7} {cgroup[0]:8.1f} {cgroup[1]:14.2f}")
    print(f"{'scan':<7} {scan[0]:8.1f} {scan[1]:14.2f}")
    print(f"CPU ratio cgroup / scan: {cgroup[1] / scan[1]:.2f}")


if __name__ == "__main__":
    main()
