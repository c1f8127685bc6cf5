"""Soak: every reference and known-bug program graded R times under a CPU hog; flake rates.

Theory of operation: ``--hog`` busy processes (default one per core) compete
with the grader and the programs for every core.  Each program of the chosen
labs (``reference/`` and ``tests/bugs/<lab>/*.py``) is graded ``--rounds``
times, ``--jobs`` at a time, with the local runner, round by round (so an
interrupted soak has covered every program about equally; each grading is
printed as it ends).  A program's verdicts are
its (probe, outcome) list; a grading *differs* when its list is not the
program's most common one.  The report gives, per probe that ever differed,
how often (its flake rate); the slowest probe relative to its timeout (how
close a loaded machine comes to a spurious timeout); and every ``error``
verdict (a grader or machine fault).  Target: 0 differing verdicts.

Run:  python benchmarks/soak.py [--lab ID ...] [--rounds 20] [--hog 2] [--jobs 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import BUGS, grade, signature  # noqa: E402

from grader.assignment import load  # noqa: E402
from grader.runner import GradeResult  # noqa: E402
from grader.verdict import Outcome  # noqa: E402


def _spin(deadline: float) -> None:
    while time.monotonic() < deadline:
        pass


def _programs(labs: list[str]) -> list[tuple[str, Path | None]]:
    """(assignment id, program) pairs; None stands for the assignment's reference."""
    work: list[tuple[str, Path | None]] = []
    for lab in labs:
        work.append((lab, None))
        work += [(lab, p) for p in sorted((BUGS / lab).glob("*.py")) if not p.name.startswith("_")]
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lab", action="append", help="assignment id (repeatable; default all)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--hog", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    labs = args.lab or sorted(d.name for d in BUGS.iterdir() if d.is_dir())
    programs = _programs(labs)
    hogs = [multiprocessing.Process(target=_spin, args=(time.monotonic() + 24 * 3600,), daemon=True)
            for _ in range(args.hog)]
    for hog in hogs:
        hog.start()
    started = time.monotonic()

    done: list[int] = [0]
    lock = threading.Lock()

    def run(item: tuple[str, Path | None, int]) -> tuple[str, Path | None, GradeResult]:
        lab, program, _ = item
        result = grade(lab, program)
        with lock:  # progress, so an interrupted soak still says how far it got
            done[0] += 1
            print(f"[{done[0]}/{len(work)} {time.monotonic() - started:.0f} s] "
                  f"{lab}/{program.stem if program else 'reference'}: "
                  f"{sum(v.outcome is Outcome.PASSED for v in result.verdicts)} passed", flush=True)
        return lab, program, result

    work = [(lab, program, n) for n in range(args.rounds) for lab, program in programs]
    try:
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(run, work))
    finally:
        for hog in hogs:
            hog.kill()
    wall = time.monotonic() - started

    runs: dict[tuple[str, str], list[tuple[tuple[str, str], ...]]] = defaultdict(list)
    timeouts = {lab: {c.id: c.timeout for c in load(lab).probes} for lab in labs}
    slowest: tuple[float, str, str] = (0.0, "", "")
    errors: list[str] = []
    for lab, program, result in results:
        name = program.stem if program else "reference"
        runs[(lab, name)].append(tuple(signature(result)))
        for v in result.verdicts:
            share = v.time / timeouts[lab].get(v.probe_id, 1.0)
            slowest = max(slowest, (share, v.probe_id, name))
            if v.outcome is Outcome.ERROR:
                errors.append(f"{lab}/{name}: {v.probe_id}: {v.reason}")
    differing = 0
    by_probe: Counter[str] = Counter()
    for (lab, name), signatures in sorted(runs.items()):
        common, count = Counter(signatures).most_common(1)[0]
        if count == len(signatures):
            continue
        differing += len(signatures) - count
        odd = sorted({p for s in signatures if s != common for p in set(s) ^ set(common)})
        for probe_id in {p for p, _ in odd}:
            by_probe[probe_id] += sum(1 for s in signatures
                                      if s != common and any(p == probe_id for p, _ in set(s) ^ set(common)))
        print(f"{lab}/{name}: {len(signatures) - count}/{len(signatures)} differ: {odd}")
    total = len(results)
    print(f"{len(runs)} programs x {args.rounds} gradings under {args.hog} busy process(es), "
          f"--jobs {args.jobs}, in {wall:.0f} s")
    print(f"differing gradings: {differing}/{total} (flake rate {differing / max(total, 1):.2%}; "
          f"target 0)")
    for probe_id, count in by_probe.most_common():
        print(f"  {probe_id}: differed in {count} grading(s)")
    print(f"slowest probe: {slowest[1]} ({slowest[2]}) used {slowest[0]:.0%} of its timeout")
    print(f"error verdicts: {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps({
            "programs": len(runs), "rounds": args.rounds, "hog": args.hog, "jobs": args.jobs,
            "wall_s": round(wall, 1), "gradings": total, "differing": differing,
            "by_probe": dict(by_probe), "slowest": {"probe": slowest[1], "program": slowest[2],
                                                    "share_of_timeout": round(slowest[0], 3)},
            "errors": errors,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
