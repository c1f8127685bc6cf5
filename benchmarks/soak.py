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

``--record FILE`` appends each grading, as it ends, to a JSON-lines file
(program, round, commit, its (probe, outcome) list, errors, slowest probe):
a soak stopped part-way keeps what it graded, ``--resume`` skips the
(program, round) pairs the file already holds, and ``--report FILE ...``
prints the figures of recorded gradings without grading anything (a record
kept in ``benchmarks/results/`` is gzipped; ``--report`` reads it as it is).
A soak ended by Ctrl-C, SIGTERM or SIGHUP exits at once with 128 + the
signal's number; its watchdog (:mod:`grader.launch.watchdog`) stops the
programs still being graded, as it does when the soak is killed outright.

``--shard I/N`` grades every N-th of the chosen programs, starting at the
I-th (as ``sockgrade batch --shard`` slices a class), so N soaks run side by
side cover them all once: the test suite's short soak is four such items.

Run:  python benchmarks/soak.py [--lab ID ...] [--rounds 20] [--hog 2] [--jobs 2]
                                [--shard I/N] [--json FILE] [--record FILE [--resume]]
      python benchmarks/soak.py --report FILE [FILE ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import BUGS, grade, signature  # noqa: E402

from grader import interrupts  # noqa: E402
from grader.assignment import load  # noqa: E402
from grader.classroom.batch import parse_shard  # noqa: E402
from grader.errors import UsageError  # noqa: E402
from grader.launch.watchdog import Watchdog  # noqa: E402
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


class Record(TypedDict):
    """One grading: its program, round, commit, (probe, outcome) list, errors, slowest probe
    (share of its timeout, probe id) and wall seconds."""

    lab: str
    program: str
    round: int
    commit: str
    seconds: float
    signature: list[list[str]]
    errors: list[str]
    slowest: tuple[float, str]


def _commit() -> str:
    """The checkout's commit (``+`` when the work tree has changes), or ``unknown``."""
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+" if dirty else "")


def _record(lab: str, program: Path | None, round_: int, result: GradeResult,
            timeouts: dict[str, float], seconds: float, commit: str) -> Record:
    """One grading as a JSON-able record (see the module docstring)."""
    name = program.stem if program else "reference"
    slowest = max(((v.time / timeouts.get(v.probe_id, 1.0), v.probe_id) for v in result.verdicts),
                  default=(0.0, ""))
    return Record(
        lab=lab, program=name, round=round_, commit=commit, seconds=round(seconds, 2),
        signature=[list(pair) for pair in signature(result)],
        errors=[f"{v.probe_id}: {v.reason}" for v in result.verdicts
                if v.outcome is Outcome.ERROR],
        slowest=(round(slowest[0], 3), slowest[1]))


def _read_records(paths: list[Path]) -> list[Record]:
    """Every record of the JSON-lines files (gzipped when named ``*.gz``, as the records kept
    in ``benchmarks/results/`` are); a line cut short by a kill is skipped."""
    records: list[Record] = []
    for path in paths:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode()
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def summarize(records: list[Record]) -> dict[str, object]:
    """The soak's figures from graded records: differing gradings, flake rate per probe,
    the slowest probe relative to its timeout, error verdicts; printed as it goes."""
    runs: dict[tuple[str, str], list[tuple[tuple[str, str], ...]]] = defaultdict(list)
    slowest: tuple[float, str, str] = (0.0, "", "")
    errors: list[str] = []
    for rec in records:
        key = (rec["lab"], rec["program"])
        runs[key].append(tuple((p, o) for p, o in rec["signature"]))
        share, probe_id = rec["slowest"]
        slowest = max(slowest, (float(share), probe_id, key[1]))
        errors += [f"{key[0]}/{key[1]}: {e}" for e in rec["errors"]]
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
    total = len(records)
    rounds = Counter(len(s) for s in runs.values())
    commits = sorted({rec["commit"] for rec in records})
    print(f"{len(runs)} programs, {total} gradings (gradings per program: "
          f"{', '.join(f'{n} x {k}' for k, n in sorted(rounds.items()))}); commits {commits}")
    print(f"differing gradings: {differing}/{total} (flake rate {differing / max(total, 1):.2%}; "
          f"target 0)")
    for probe_id, count in by_probe.most_common():
        print(f"  {probe_id}: differed in {count} grading(s)")
    print(f"slowest probe: {slowest[1]} ({slowest[2]}) used {slowest[0]:.0%} of its timeout")
    print(f"error verdicts: {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    return {
        "programs": len(runs), "gradings": total, "differing": differing,
        "by_probe": dict(by_probe), "commits": commits,
        "slowest": {"probe": slowest[1], "program": slowest[2],
                    "share_of_timeout": round(slowest[0], 3)},
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lab", action="append", help="assignment id (repeatable; default all)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--hog", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--shard", metavar="I/N",
                        help="grade every N-th program only, starting at the I-th")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--record", type=Path, help="append each grading to this JSON-lines file")
    parser.add_argument("--resume", action="store_true",
                        help="skip the (program, round) pairs --record already holds")
    parser.add_argument("--report", type=Path, nargs="+", metavar="FILE",
                        help="print the figures of recorded gradings; grade nothing")
    args = parser.parse_args()
    if args.report:
        missing = [str(p) for p in args.report if not p.is_file()]
        if missing:
            sys.exit(f"soak: no such record file: {', '.join(missing)}")
        figures = summarize(_read_records(args.report))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return
    if args.resume and args.record is None:
        sys.exit("soak: --resume needs --record FILE")
    labs = args.lab or sorted(d.name for d in BUGS.iterdir() if d.is_dir())
    try:
        shard = parse_shard(args.shard)
    except UsageError as exc:
        sys.exit(f"soak: {exc}")
    programs = _programs(labs)
    if shard is not None:
        programs = programs[shard[0] - 1 :: shard[1]]
    work = [(lab, program, n) for n in range(args.rounds) for lab, program in programs]
    held: list[Record] = []
    if args.resume and args.record.is_file():
        held = [r for r in _read_records([args.record]) if r["lab"] in labs]
        have = {(r["lab"], r["program"], r["round"]) for r in held}
        work = [(lab, p, n) for lab, p, n in work
                if (lab, p.stem if p else "reference", n) not in have]
        print(f"resuming: {len(held)} gradings recorded, {len(work)} to go", flush=True)
    commit = _commit()
    timeouts = {lab: {c.id: c.timeout for c in load(lab).probes} for lab in labs}
    hogs = [multiprocessing.Process(target=_spin, args=(time.monotonic() + 24 * 3600,), daemon=True)
            for _ in range(args.hog)]
    for hog in hogs:
        hog.start()
    started = time.monotonic()
    done: list[int] = [0]
    lock = threading.Lock()
    records: list[Record] = []

    def run(item: tuple[str, Path | None, int]) -> None:
        lab, program, round_ = item
        began = time.monotonic()
        result = grade(lab, program)
        record = _record(lab, program, round_, result, timeouts[lab], time.monotonic() - began,
                         commit)
        with lock:  # progress, so an interrupted soak still says how far it got
            records.append(record)
            if args.record:
                with args.record.open("a") as out:
                    out.write(json.dumps(record) + "\n")
            done[0] += 1
            print(f"[{done[0]}/{len(work)} {time.monotonic() - started:.0f} s] "
                  f"{lab}/{record['program']}: "
                  f"{sum(v.outcome is Outcome.PASSED for v in result.verdicts)} passed", flush=True)

    watchdog = Watchdog.start()  # a soak stopped by any signal, SIGKILL too, leaves no program
    pool = ThreadPoolExecutor(args.jobs)
    try:
        with interrupts.handled():
            list(pool.map(run, work))
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: the record keeps what ended
        for hog in hogs:
            hog.kill()
        print(f"soak: interrupted ({exc or 'Ctrl-C'}); --resume goes on from the record",
              file=sys.stderr, flush=True)
        with lock:  # not in the middle of a record's line
            os._exit(interrupts.exit_status(exc))  # the watchdog stops the programs being graded
    finally:
        for hog in hogs:
            hog.kill()
    pool.shutdown()
    watchdog.close()
    wall = time.monotonic() - started
    print(f"graded {len(work)} under {args.hog} busy process(es), --jobs {args.jobs}, "
          f"in {wall:.0f} s")
    figures = summarize(held + records)
    if args.json:
        figures.update(rounds=args.rounds, hog=args.hog, jobs=args.jobs, wall_s=round(wall, 1))
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
