"""Benchmark: ``sockgrade batch`` over 200 generated submissions, local runner and Docker.

Theory of operation: for each ``--lab`` (default tcp-echo-server; one
assignment per batch, as ``sockgrade batch`` grades one) it generates a
class folder of COUNT submissions (default 200): every other one a copy of
the lab's bundled reference program, the rest cycling through its
known-bug programs (tests/bugs/LAB/[a-z]*.py), each saved under the
assignment's entry name with the bug folder's helpers beside it (files
starting with ``_`` and non-Python files such as a certificate).  It grades
the folder with ``sockgrade batch LAB --jobs JOBS`` (default 2) as a
separate process once per runner, every probe unless ``--select`` is given,
and reports per runner the wall time, submissions per minute and the mean
grading time of one submission.  Targets (issue 13, "Batch throughput"):

* a local batch of 200 with ``--jobs 2`` in under 180 s (for another COUNT
  the target is scaled: 0.9 s per submission);
* Docker under 1 s per submission over local.  Each student's JSON report
  carries ``batch.launch_seconds``, the seconds its program starts spent in
  each launch phase (local: start, ready, stop; Docker: copy, network,
  create, start, ready, stop, teardown; see grader.launch.docker.PHASES);
  the benchmark prints each phase's mean per submission for both runners and
  their difference (the total leaves out ``teardown``, which runs in the
  background), then the overhead two ways beside the target: the extra
  mean grading time of one submission (one worker's view; the headline) and
  the extra batch wall time divided by COUNT.

Where the time goes: per runner it prints the mean grading time of the
reference copies and of the known-bug copies apart (a known bug's failed
probes mostly wait out reply timeouts), the five slowest known bugs, and the
CPU time of the batch process itself (all its threads, sampled from
``/proc`` while it runs; its programs not counted) as cores used: one
Python process runs Python code on at most one core at a time, so a figure
near 1.0 says the grader's own work is what bounds the batch.

It also checks that both runners give COUNT rows and the same status for
every student, and says when a reference copy did not pass.  Bad input
(an unknown lab, a count below 1): one line, exit status 2.

Run:  python benchmarks/bench_batch.py [--lab ID ...] [--count 200] [--jobs 2]
      [--runners local,docker] [--image sockgrade/debian-python:bookworm]
      [--select GLOB ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.assignment import Assignment, load  # noqa: E402
from grader.bundle import REFERENCE_DIR  # noqa: E402
from grader.classroom.gradebook import read_gradebook  # noqa: E402
from grader.errors import SockgradeError  # noqa: E402

BUGS = ROOT / "tests" / "bugs"
#: Target: a local batch of TARGET_COUNT submissions with --jobs 2 within TARGET_WALL seconds.
TARGET_COUNT = 200
TARGET_WALL = 180.0
#: Target: Docker's extra seconds per submission over local.
TARGET_OVERHEAD = 1.0
#: Launch phases in the order printed (grader.launch.docker.PHASES plus the runner's "ready").
PHASE_ORDER = ("copy", "network", "create", "start", "ready", "stop", "teardown")
#: Phases spent in the background, off the grading's critical path (docker: removing the
#: container and network): printed, left out of the total.
BACKGROUND = frozenset({"teardown"})


def programs_of(assignment: Assignment) -> tuple[Path, list[Path], list[Path]]:
    """(reference program, known-bug programs, helper files of the bug folder) of a lab.

    SystemExit (one line) when the lab names no reference program.
    """
    if assignment.reference is None or assignment.entry is None:
        raise SystemExit(f"bench_batch: {assignment.id} has no bundled reference program or "
                         f"no entry file name: nothing to generate")
    folder = BUGS / assignment.id
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    bugs = [p for p in files if p.suffix == ".py" and p.name[:1].islower()]
    helpers = [p for p in files if p.is_file() and p not in bugs]
    return REFERENCE_DIR / assignment.reference, bugs, helpers


def make_class(folder: Path, assignment: Assignment, count: int) -> dict[str, str]:
    """COUNT submission folders in ``folder``; returns student -> program copied
    ("reference" or the known bug's name)."""
    reference, bugs, helpers = programs_of(assignment)
    assert assignment.entry is not None
    made = {}
    for index in range(count):
        bug = None if index % 2 == 0 or not bugs else bugs[(index // 2) % len(bugs)]
        name = "reference" if bug is None else bug.stem
        student = f"s{index:03d}-{name}"
        (folder / student).mkdir(parents=True)
        shutil.copy(reference if bug is None else bug, folder / student / assignment.entry)
        if bug is not None:
            for helper in helpers:
                shutil.copy(helper, folder / student / helper.name)
        made[student] = name
    return made


def run_batch(lab: str, folder: Path, out: Path, runner: str,
              args: argparse.Namespace) -> dict[str, Any]:
    """Run one batch as a separate process; its figures (SystemExit when it fails)."""
    command = [sys.executable, "-m", "grader", "batch", lab, str(folder),
               "--out", str(out), "--jobs", str(args.jobs), "--runner", runner]
    if runner == "docker":
        command += ["--image", args.image]
    for pattern in args.select or ():
        command += ["--select", pattern]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        batch = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        cpu = _own_cpu_until_exit(batch)
        wall = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    if batch.returncode != 0:
        tail = text.strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"bench_batch: the {runner} batch of {lab} failed "
                         f"(exit {batch.returncode}): {tail[0]}")
    rows = read_gradebook(out / "gradebook.csv")
    reports = [json.loads(p.read_text()) for p in (out / "students").glob("*.json")]
    durations = [float(r["duration"]) for r in reports]
    phases: dict[str, float] = dict.fromkeys(PHASE_ORDER, 0.0)
    timed = [r["batch"].get("launch_seconds") or {} for r in reports]
    launches = [int(r["batch"].get("launches") or 0) for r in reports]
    for seconds in timed:
        for phase, value in seconds.items():
            phases[phase] = phases.get(phase, 0.0) + float(value)
    kinds = {r["batch"]["student"]: r["batch"]["student"].split("-", 1)[1] for r in reports}
    by_kind: dict[str, list[float]] = {}
    for report, seconds in zip(reports, durations, strict=True):
        by_kind.setdefault(kinds[report["batch"]["student"]], []).append(seconds)
    bug_means = {k: statistics.fmean(v) for k, v in by_kind.items() if k != "reference"}
    bug_seconds = [x for k, v in by_kind.items() if k != "reference" for x in v]
    return {
        "runner": runner,
        "rows": len(rows),
        "wall_seconds": round(wall, 2),
        "grader_cpu_seconds": round(cpu, 2),
        "grader_cores": round(cpu / wall, 2) if wall > 0 else 0.0,
        "mean_reference_grading_seconds": round(statistics.fmean(by_kind["reference"]), 3)
        if by_kind.get("reference") else 0.0,
        "mean_known_bug_grading_seconds": round(statistics.fmean(bug_seconds), 3)
        if bug_seconds else 0.0,
        "slowest_known_bugs": {k: round(v, 2) for k, v in
                               sorted(bug_means.items(), key=lambda kv: -kv[1])[:5]},
        "per_minute": round(len(rows) / wall * 60, 1),
        "mean_grading_seconds": round(statistics.fmean(durations), 3) if durations else 0.0,
        "phase_seconds": {k: round(v / max(1, len(timed)), 4) for k, v in phases.items()},
        "launches_per_submission": round(statistics.fmean(launches), 2) if launches else 0.0,
        "statuses": {r["student"]: r["status"] for r in rows},
        "status_counts": {s: sum(1 for r in rows if r["status"] == s)
                          for s in ("passed", "failed", "error")},
    }


#: Seconds between two samples of the batch process's CPU time.
CPU_SAMPLE = 0.25


def _own_cpu_until_exit(batch: subprocess.Popen[bytes]) -> float:
    """Wait for ``batch`` to exit; the CPU seconds (user + system, every thread) it used itself,
    not its programs: the last sample taken while it ran (at most CPU_SAMPLE s before its end)."""
    try:
        process = psutil.Process(batch.pid)
    except psutil.Error:
        batch.wait()
        return 0.0
    used = 0.0
    while True:
        try:
            times = process.cpu_times()
            used = times.user + times.system
        except psutil.Error:
            pass
        try:
            batch.wait(CPU_SAMPLE)
            return used
        except subprocess.TimeoutExpired:
            continue


def _ratio(value: float, target: float) -> str:
    return f"{value / target:.2f}" if target > 0 else "-"


def report_lab(lab: str, count: int, made: dict[str, str],
               results: dict[str, dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Print one lab's figures beside their targets; the JSON-ready summary."""
    references = sum(1 for name in made.values() if name == "reference")
    kinds = len(set(made.values()) - {"reference"})
    target_wall = TARGET_WALL * count / TARGET_COUNT
    print(f"\n{lab}: {count} submissions ({references} reference copies, {count - references} "
          f"of {kinds} known bugs), --jobs {args.jobs}, "
          f"{'probes ' + ' '.join(args.select) if args.select else 'every probe'}")
    print(f"{'runner':<8} {'rows':>5} {'wall s':>8} {'target s':>9} {'ratio':>6} {'subs/min':>9} "
          f"{'mean grading s':>15}  statuses")
    for result in results.values():
        local = result["runner"] == "local"
        target = f"{target_wall:>9.1f} {_ratio(result['wall_seconds'], target_wall):>6}" \
            if local else f"{'-':>9} {'-':>6}"
        print(f"{result['runner']:<8} {result['rows']:>5} {result['wall_seconds']:>8} {target} "
              f"{result['per_minute']:>9} {result['mean_grading_seconds']:>15}  "
              f"{result['status_counts']}")
    if "local" in results and count != TARGET_COUNT:
        print(f"(the local target is {TARGET_WALL:.0f} s for {TARGET_COUNT} with --jobs 2, "
              f"scaled to {count}: {TARGET_WALL / TARGET_COUNT:.2f} s per submission)")
    for result in results.values():
        print(f"{result['runner']}: mean grading {result['mean_reference_grading_seconds']} s "
              f"for a reference copy, {result['mean_known_bug_grading_seconds']} s for a known "
              f"bug; slowest known bugs (mean s): "
              + ", ".join(f"{k} {v}" for k, v in result["slowest_known_bugs"].items()))
        print(f"{result['runner']}: the batch process used {result['grader_cpu_seconds']} s of "
              f"CPU in {result['wall_seconds']} s: {result['grader_cores']} cores (its programs "
              f"not counted; at most 1.0 for Python code in one process)")
    for result in results.values():
        bad = sorted(s for s, status in result["statuses"].items()
                     if made.get(s) == "reference" and status != "passed")
        if bad:
            print(f"warning: {len(bad)} reference copies did not pass under {result['runner']}: "
                  f"{', '.join(bad[:5])}")
    summary: dict[str, Any] = {
        "lab": lab, "count": count, "jobs": args.jobs, "select": args.select,
        "local_target_wall_seconds": target_wall,
        "runners": {k: {x: y for x, y in v.items() if x != "statuses"}
                    for k, v in results.items()}}
    runners = list(results)
    print("launch phases, mean seconds per submission, summed over its program starts ("
          + ", ".join(f"{r} {results[r]['launches_per_submission']}" for r in runners)
          + " a submission; lanes start in parallel, so the sum may exceed the time added):")
    print(f"{'phase':<8} " + " ".join(f"{r:>8}" for r in runners)
          + (f" {'docker-local':>13}" if {"local", "docker"} <= set(results) else ""))
    for phase in PHASE_ORDER:
        values = [results[r]["phase_seconds"].get(phase, 0.0) for r in runners]
        line = f"{phase:<8} " + " ".join(f"{v:8.3f}" for v in values)
        if {"local", "docker"} <= set(results):
            extra = (results["docker"]["phase_seconds"].get(phase, 0.0)
                     - results["local"]["phase_seconds"].get(phase, 0.0))
            line += f" {extra:+13.3f}"
        print(line + ("  (background, not in the total)" if phase in BACKGROUND else ""))
    totals = {r: sum(v for k, v in results[r]["phase_seconds"].items() if k not in BACKGROUND)
              for r in runners}
    line = f"{'total':<8} " + " ".join(f"{totals[r]:8.3f}" for r in runners)
    if "local" in results and "docker" in results:
        local, docker = results["local"], results["docker"]
        phase_over = totals["docker"] - totals["local"]
        line += (f" {phase_over:+13.3f}  target < {TARGET_OVERHEAD:.1f} s, "
                 f"ratio {_ratio(phase_over, TARGET_OVERHEAD)}")
        print(line)
        wall_over = (docker["wall_seconds"] - local["wall_seconds"]) / count
        grade_over = docker["mean_grading_seconds"] - local["mean_grading_seconds"]
        differ = sorted(s for s, status in local["statuses"].items()
                        if docker["statuses"].get(s) != status)
        print(f"docker overhead per submission: {grade_over:+.2f} s of grading time "
              f"(target < {TARGET_OVERHEAD:.1f} s, ratio {_ratio(grade_over, TARGET_OVERHEAD)}); "
              f"{wall_over:+.2f} s of batch wall time with {args.jobs} jobs "
              f"(ratio {_ratio(wall_over, TARGET_OVERHEAD)}); launch phases {phase_over:+.2f} s")
        print(f"statuses that differ between runners: {len(differ)}"
              + (f" ({', '.join(differ[:10])})" if differ else ""))
        summary.update(docker_overhead_grading_per_submission=round(grade_over, 3),
                       docker_overhead_wall_per_submission=round(wall_over, 3),
                       docker_overhead_phases_per_submission=round(phase_over, 3),
                       differing_statuses=differ)
    else:
        print(line)
    return summary


def main() -> None:
    """Parse the command line, run the batches, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lab", action="append", metavar="ID",
                        help="assignment to grade (repeatable; default tcp-echo-server)")
    parser.add_argument("--count", type=int, default=TARGET_COUNT,
                        help="submissions generated per lab")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runners", default="local,docker")
    parser.add_argument("--image", default="sockgrade/debian-python:bookworm")
    parser.add_argument("--select", action="append", metavar="GLOB")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    if args.count < 1 or args.jobs < 1:
        parser.exit(2, "bench_batch: --count and --jobs must be at least 1\n")
    runners = [r for r in args.runners.split(",") if r]
    if not runners or set(runners) - {"local", "docker"}:
        parser.exit(2, f"bench_batch: --runners takes local and/or docker, not {args.runners!r}\n")
    labs = args.lab or ["tcp-echo-server"]
    try:
        assignments = {lab: load(lab) for lab in labs}
    except SockgradeError as exc:
        parser.exit(2, f"bench_batch: {exc}\n")
    print("figures are measured on this machine as it is loaded now (other processes count)")
    summaries = []
    for lab, assignment in assignments.items():
        work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
        try:
            folder = work / "class"
            made = make_class(folder, assignment, args.count)
            results = {r: run_batch(lab, folder, work / f"out-{r}", r, args) for r in runners}
        finally:
            shutil.rmtree(work, ignore_errors=True)
        summaries.append(report_lab(lab, args.count, made, results, args))
    if args.json:
        Path(args.json).write_text(json.dumps(summaries if len(summaries) > 1 else summaries[0],
                                              indent=2))


if __name__ == "__main__":
    main()
