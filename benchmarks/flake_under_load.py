"""Steadiness: every known-bug program of a lab graded N times under a CPU hog; flake rate.

Starts ``--hog`` busy processes (default: one per core, so the grader, the
programs and the hog compete for every core), then grades each known-bug
program of ``--lab`` (``tests/bugs/<lab>/*.py``) ``--rounds`` times, two at
a time, with the local runner.  A program's verdicts are its (probe,
outcome) list; the flake rate is the share of gradings whose list differs
from that program's most common one.  Prints one line per program that
flaked (with the probes that differed) and the totals.  The target is 0.

Run:  python benchmarks/flake_under_load.py [--lab tcp-echo-server] [--rounds 20] [--hog 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import BUGS, grade, signature  # noqa: E402


def _spin(deadline: float) -> None:
    while time.monotonic() < deadline:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="tcp-echo-server")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--hog", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    programs = sorted(p for p in (BUGS / args.lab).glob("*.py") if not p.name.startswith("_"))
    hogs = [multiprocessing.Process(target=_spin, args=(time.monotonic() + 24 * 3600,), daemon=True)
            for _ in range(args.hog)]
    for hog in hogs:
        hog.start()
    started = time.monotonic()
    try:
        work = [(program, n) for program in programs for n in range(args.rounds)]
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda item: (item[0], grade(args.lab, item[0])), work))
    finally:
        for hog in hogs:
            hog.kill()
    by_program: dict[Path, list[tuple[tuple[str, str], ...]]] = {}
    for program, result in results:
        by_program.setdefault(program, []).append(tuple(signature(result)))
    odd = 0
    for program, runs in by_program.items():
        common, count = Counter(runs).most_common(1)[0]
        if count != len(runs):
            odd += len(runs) - count
            differing = {p for run in runs if run != common for p in set(run) ^ set(common)}
            print(f"{program.stem:<28} {len(runs) - count}/{len(runs)} differ: {sorted(differing)}")
    total = len(results)
    print(f"{args.lab}: {len(by_program)} programs x {args.rounds} gradings under {args.hog} busy "
          f"process(es) in {time.monotonic() - started:.0f} s; {odd}/{total} differed "
          f"(flake rate {odd / total:.2%}; target 0)")


if __name__ == "__main__":
    main()
