"""Benchmark: what one program start costs the grader, as the grader grows.

Theory of operation: a grader that has run many probes holds hundreds of
megabytes (each lane thread's allocator arena keeps the 16 MiB payloads it
freed; pytest workers reach 0.5-1 GB).  ``subprocess`` with a ``preexec_fn``
must ``fork``, and a fork copies the parent's page tables while the parent
holds the GIL, then the child's ``exec`` tears the copy down: the cost grows
with the grader's size.  The local launcher instead starts a trampoline
with ``vfork`` (:mod:`grader.launch.local`), whose cost does not depend on it.

For each grader size (``--sizes``, MiB of touched memory allocated in this
process) it times ``--runs`` starts of ``/bin/true`` both ways, side by side:

* ``fork``: ``subprocess.Popen`` with a no-op ``preexec_fn`` (what the launcher
  did before the trampoline);
* ``launcher``: :class:`grader.launch.local.LocalLauncher` starting ``/bin/true``
  (trampoline: rlimits, pids cgroup as root, a network namespace when asked
  with ``--namespace``) and waiting for its exit; stopping it (the kill sweep)
  is not timed.

and prints per start the wall time, the grader's CPU time (its own threads:
time the GIL is held) and the children's CPU time, then the ratio launcher ÷
fork of the total CPU.  There is no target: the figure says from which grader
size the trampoline is the cheaper start.

Run:  python benchmarks/bench_spawn.py [--sizes 50,300,800] [--runs 20] [--namespace]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.launch.base import LaunchSpec, Limits  # noqa: E402
from grader.launch.local import LocalLauncher  # noqa: E402


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def _measure(start: Callable[[], None], runs: int) -> tuple[float, float, float]:
    """(wall, grader CPU, children CPU) per start, in milliseconds."""
    began, (own0, kids0) = time.perf_counter(), _cpu()
    for _ in range(runs):
        start()
    own1, kids1 = _cpu()
    scale = 1000 / runs
    return ((time.perf_counter() - began) * scale, (own1 - own0) * scale, (kids1 - kids0) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,300,800", help="grader sizes, MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--namespace", action="store_true",
                        help="the launcher gives each start a network namespace (root)")
    args = parser.parse_args()
    launcher = LocalLauncher()
    spec = LaunchSpec(argv=("/bin/true",), cwd=Path.cwd(), limits=Limits(),
                      own_network=args.namespace)

    def by_fork() -> None:
        subprocess.Popen(["/bin/true"], preexec_fn=lambda: None, start_new_session=True).wait()

    started = []

    def by_launcher() -> None:  # the start and the exit only: stopping is not timed
        program = launcher.start(spec)
        program.wait(10.0)
        started.append(program)

    held: list[bytearray] = []
    print(f"{'grader MiB':>10} {'way':<9} {'wall ms':>8} {'grader CPU ms':>14} "
          f"{'children CPU ms':>16} {'launcher/fork CPU':>18}")
    for size in (int(part) for part in args.sizes.split(",")):
        while len(held) < size:
            block = bytearray(1 << 20)
            block[::4096] = b"\1" * len(block[::4096])  # touched: resident, as a grader's heap
            held.append(block)
        fork = _measure(by_fork, args.runs)
        ours = _measure(by_launcher, args.runs)
        while started:
            started.pop().stop()
        for way, (wall, own, kids) in (("fork", fork), ("launcher", ours)):
            ratio = f"{(ours[1] + ours[2]) / (fork[1] + fork[2]):18.2f}" if way == "launcher" else ""
            print(f"{size:>10} {way:<9} {wall:8.1f} {own:14.1f} {kids:16.1f} {ratio}")
    launcher.close()


if __name__ == "__main__":
    main()
