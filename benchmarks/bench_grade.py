"""Benchmark: wall time to grade one submission (issue "Grade a TCP echo server ...").

Measures, over several runs, the wall time of a whole `sockgrade check` of
tcp-echo-server against (a) the bundled reference server and (b) a server
that accepts but never replies (tests/bugs/tcp-echo-server/never_replies.py),
in-process with the local runner.  Targets: reference under 2 s, hung
server under 10 s.  Prints each figure beside its target and the ratio.

Run:  python benchmarks/bench_grade.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import BUGS, grade  # noqa: E402

CASES = (
    ("reference server", None, 2.0),
    ("hung server (accepts, never replies)", BUGS / "tcp-echo-server" / "never_replies.py", 10.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'case':<40} {'median s':>9} {'min s':>7} {'max s':>7} {'target s':>9} {'ratio':>6}")
    for label, target, limit in CASES:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            grade("tcp-echo-server", target)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(f"{label:<40} {median:9.2f} {min(times):7.2f} {max(times):7.2f} {limit:9.1f} "
              f"{median / limit:6.2f}")


if __name__ == "__main__":
    main()
