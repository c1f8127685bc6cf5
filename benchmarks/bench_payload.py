"""Benchmark: what a probe's seeded payload costs the grader, side by side.

Theory of operation: every grading of a stream lab makes several 16 MiB payloads
(``partial/backpressure`` three, ``robustness/reset-during-reply`` one, the concurrency
labs more) with :func:`grader.probes.common.printable`.  Its random bytes once came from
``random.Random.randbytes`` (one big integer from the Mersenne Twister, then converted);
they now come from :func:`grader.probes.common.keystream` (AES-128 in counter mode, keyed
from the same seeded generator).  For each size (``--sizes``, bytes) it times ``--runs``
payloads both ways, keeps the best run of each (the least disturbed), and prints both in
milliseconds with their ratio.  The translation into printable text, the same both ways,
is timed apart.  There is no target: the figure says what each payload costs.

Run:  python benchmarks/bench_payload.py [--sizes 65536,4194304,16777216] [--runs 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.probes.common import _TO_PRINTABLE, keystream  # noqa: E402


def _best(make: Callable[[], bytes], runs: int) -> float:
    """The fastest of ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        make()
        times.append(time.perf_counter() - began)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="65536,4194304,16777216", help="bytes, comma-separated")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(1)
    keystream(rng, 1)  # the import of cryptography is not timed
    print(f"{'bytes':>10} {'randbytes ms':>13} {'keystream ms':>13} {'ratio':>6} {'translate ms':>13}")
    for size in (int(part) for part in args.sizes.split(",")):
        old = _best(lambda: rng.randbytes(size), args.runs)  # noqa: B023 (called at once)
        new = _best(lambda: keystream(rng, size), args.runs)  # noqa: B023
        data = keystream(rng, size)
        translate = _best(lambda: data.translate(_TO_PRINTABLE), args.runs)  # noqa: B023
        print(f"{size:>10} {old:13.2f} {new:13.2f} {new / old:6.2f} {translate:13.2f}")


if __name__ == "__main__":
    main()
