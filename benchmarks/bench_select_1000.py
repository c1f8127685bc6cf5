"""Benchmark: 1,000 simultaneous clients against the reference select() echo server.

Grades reference/echo_select_server.py on the echo-select-server assignment
with only concurrency/many-clients selected (plus the probes it depends on),
its params raised to 1,000 clients x 3 round trips, each client holding its
connection until all are done.  The grader drives all 1,000 sockets from one
thread with one selector (grader/probes/crowd.py).  Reports, per run and as
medians: the wall time of the whole grading, the probe's own time, the
grader's CPU time (user + system, from resource.getrusage) and the server's
CPU time (the reaped child's rusage), and the grader's CPU per client
(grader CPU seconds / clients, in milliseconds).  Target (issue 13,
"Scale"): the wall time stays under its current figure; give that figure
as ``--baseline SECONDS`` to print the median's ratio to it.

Needs about 1,010 file descriptors in the grader and as many in the server
(which inherits the limit): the soft RLIMIT_NOFILE is raised to the hard
limit.  select() cannot watch descriptors numbered 1024 or more, so the
reference tops out a little above 1,000 clients; --clients can go lower or,
with a poll/epoll server, higher.

Run:  python benchmarks/bench_select_1000.py [--runs 3] [--clients 1000] [--rounds 3]
      [--baseline SECONDS]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.assignment import Assignment, load  # noqa: E402
from grader.launch.local import LocalLauncher  # noqa: E402
from grader.runner import Runner, RunOptions  # noqa: E402
from grader.settings import DEFAULT_SEED, reference_submission  # noqa: E402
from grader.verdict import Outcome  # noqa: E402

PROBE = "concurrency/many-clients"


def _assignment(clients: int, rounds: int) -> Assignment:
    """echo-select-server with many-clients raised to ``clients`` x ``rounds``."""
    base = load("echo-select-server")
    probes = tuple(
        replace(c, timeout=120.0, params={**c.params, "clients": clients, "rounds": rounds,
                                          "seconds": 60.0, "hold": True})
        if c.name == PROBE else c for c in base.probes)
    return replace(base, probes=probes)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _raise_fd_limit(need: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        target = hard if hard == resource.RLIM_INFINITY else max(soft, min(hard, 65536))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run_once(assignment: Assignment) -> dict[str, float]:
    """One grading; returns wall, probe, grader CPU and server CPU seconds."""
    launcher = LocalLauncher()
    options = RunOptions(seed=DEFAULT_SEED, select=(PROBE,))
    grader_before, children_before = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        result = Runner(assignment, reference_submission(assignment), launcher, options).run()
    finally:
        launcher.close()
    wall = time.perf_counter() - started
    probe = next(v for v in result.verdicts if f"{v.category}/{v.name}" == PROBE)
    if probe.outcome is not Outcome.PASSED:
        raise SystemExit(f"{PROBE} did not pass: {probe.outcome.value}: {probe.reason}")
    for line in probe.transcript:
        print(f"      {line}")
    return {
        "wall": wall,
        "probe": probe.time,
        "grader_cpu": _cpu(resource.RUSAGE_SELF) - grader_before,
        "server_cpu": _cpu(resource.RUSAGE_CHILDREN) - children_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=float, metavar="SECONDS",
                        help="the wall time to stay under (the current figure): prints the ratio")
    args = parser.parse_args()
    if args.clients < 1 or args.runs < 1 or args.rounds < 1:
        parser.exit(2, "bench_select_1000: --clients, --runs and --rounds must be at least 1\n")
    limit = _raise_fd_limit(args.clients + 64)
    if limit < args.clients + 64:
        raise SystemExit(f"RLIMIT_NOFILE is {limit}: too low for {args.clients} clients")
    assignment = _assignment(args.clients, args.rounds)
    print(f"{args.clients} simultaneous clients x {args.rounds} round trips against "
          f"reference/echo_select_server.py (RLIMIT_NOFILE {limit})")
    print("figures are measured on this machine as it is loaded now (other processes count)")
    header = (f"{'run':>4} {'wall s':>8} {'probe s':>8} {'grader CPU s':>13} "
              f"{'server CPU s':>13} {'grader CPU/client ms':>21}")
    print(header)
    rows = []
    for index in range(args.runs):
        row = run_once(assignment)
        row["grader_cpu_per_client_ms"] = row["grader_cpu"] / args.clients * 1000
        rows.append(row)
        print(_line(str(index + 1), row))
    median = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
    print(_line("med", median))
    if args.baseline:
        print(f"median wall {median['wall']:.2f} s against the baseline {args.baseline:.2f} s "
              f"(target: under it): ratio {median['wall'] / args.baseline:.2f}")
    else:
        print("target: the median wall time stays under its current figure "
              "(pass it as --baseline SECONDS for the ratio)")


def _line(label: str, row: dict[str, float]) -> str:
    return (f"{label:>4} {row['wall']:8.2f} {row['probe']:8.2f} {row['grader_cpu']:13.2f} "
            f"{row['server_cpu']:13.2f} {row['grader_cpu_per_client_ms']:21.3f}")


if __name__ == "__main__":
    main()
