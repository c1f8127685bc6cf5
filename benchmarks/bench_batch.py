"""Benchmark: ``sockgrade batch`` over 100 submissions, local runner and Docker (issue "batch").

Generates a class folder of COUNT submissions (default 100): every other one
a copy of the reference TCP echo server, the rest cycling through the
known-bug servers of tests/bugs/tcp-echo-server.  Grades it with
``sockgrade batch tcp-echo-server --jobs JOBS`` (default 2) as a separate
process once per runner, every probe unless ``--select`` is given, and
reports for each runner the wall time, submissions per minute and the mean
grading time of one submission; then the Docker overhead per submission, two
ways: extra batch wall time divided by COUNT, and extra mean grading time of
one submission (one worker's view).  It also checks that both runners give
COUNT rows and the same status for every student.

Run:  python benchmarks/bench_batch.py [--count 100] [--jobs 2] [--runners local,docker]
      [--image sockgrade/debian-python:bookworm] [--select GLOB ...] [--json FILE]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.bundle import REFERENCE_DIR  # noqa: E402
from grader.classroom.gradebook import read_gradebook  # noqa: E402

REFERENCE = REFERENCE_DIR / "tcp_echo_server.py"
BUGS = ROOT / "tests" / "bugs" / "tcp-echo-server"


def make_class(folder: Path, count: int) -> dict[str, str]:
    """COUNT submission folders in ``folder``; returns student -> program copied."""
    bugs = sorted(p for p in BUGS.glob("[a-z]*.py"))
    made = {}
    for index in range(count):
        program = REFERENCE if index % 2 == 0 else bugs[(index // 2) % len(bugs)]
        student = f"s{index:03d}-{program.stem}"
        (folder / student).mkdir(parents=True)
        shutil.copy(program, folder / student / "server.py")
        shutil.copy(BUGS / "_threaded.py", folder / student / "_threaded.py")
        made[student] = program.stem
    return made


def run_batch(folder: Path, out: Path, runner: str, args: argparse.Namespace) -> dict[str, object]:
    """Run one batch as a separate process; its figures."""
    command = [sys.executable, "-m", "grader", "batch", "tcp-echo-server", str(folder),
               "--out", str(out), "--jobs", str(args.jobs), "--runner", runner]
    if runner == "docker":
        command += ["--image", args.image]
    for pattern in args.select or ():
        command += ["--select", pattern]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{runner} batch failed ({done.returncode}):\n{done.stderr[-2000:]}")
    rows = read_gradebook(out / "gradebook.csv")
    durations = [json.loads(p.read_text())["duration"] for p in (out / "students").glob("*.json")]
    return {
        "runner": runner,
        "rows": len(rows),
        "wall_seconds": round(wall, 2),
        "per_minute": round(len(rows) / wall * 60, 1),
        "mean_grading_seconds": round(statistics.fmean(durations), 3),
        "statuses": {r["student"]: r["status"] for r in rows},
        "status_counts": {s: sum(1 for r in rows if r["status"] == s)
                          for s in ("passed", "failed", "error")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runners", default="local,docker")
    parser.add_argument("--image", default="sockgrade/debian-python:bookworm")
    parser.add_argument("--select", action="append", metavar="GLOB")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        folder = work / "class"
        make_class(folder, args.count)
        results = {r: run_batch(folder, work / f"out-{r}", r, args)
                   for r in args.runners.split(",")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.count} submissions, --jobs {args.jobs}, "
          f"{'probes ' + ' '.join(args.select) if args.select else 'every probe'}")
    print(f"{'runner':<8} {'rows':>5} {'wall s':>8} {'subs/min':>9} {'mean grading s':>15}  statuses")
    for result in results.values():
        print(f"{result['runner']:<8} {result['rows']:>5} {result['wall_seconds']:>8} "
              f"{result['per_minute']:>9} {result['mean_grading_seconds']:>15}  "
              f"{result['status_counts']}")
    summary: dict[str, object] = {"count": args.count, "jobs": args.jobs,
                                  "select": args.select, "runners": {
                                      k: {x: y for x, y in v.items() if x != "statuses"}
                                      for k, v in results.items()}}
    if "local" in results and "docker" in results:
        local, docker = results["local"], results["docker"]
        wall_over = (float(docker["wall_seconds"]) - float(local["wall_seconds"])) / args.count  # type: ignore[arg-type]
        grade_over = (float(docker["mean_grading_seconds"])  # type: ignore[arg-type]
                      - float(local["mean_grading_seconds"]))  # type: ignore[arg-type]
        differ = sorted(s for s, status in local["statuses"].items()  # type: ignore[attr-defined]
                        if docker["statuses"].get(s) != status)  # type: ignore[attr-defined]
        print(f"docker overhead per submission: {wall_over:+.2f} s of batch wall time "
              f"({args.jobs} jobs), {grade_over:+.2f} s of grading time per submission")
        print(f"statuses that differ between runners: {len(differ)}"
              + (f" ({', '.join(differ[:10])})" if differ else ""))
        summary.update(docker_overhead_wall_per_submission=round(wall_over, 3),
                       docker_overhead_grading_per_submission=round(grade_over, 3),
                       differing_statuses=differ)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
