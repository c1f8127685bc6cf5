"""The soak benchmark, short: lab 1's reference and every known bug graded twice under load.

``benchmarks/soak.py`` (issue 13, "Steadiness") grades programs again and again while
busy processes compete for the cores and reports every grading whose verdicts differ
from its program's most common ones.  This is its fast version, run as a user runs it:
two rounds of tcp-echo-server's 23 programs (the lab with the most probes aimed at
timing: resets, backpressure, idle CPU), two gradings at once, while the suite's other
workers load both cores (a busy process of its own cost 3 CPU-minutes per run and
changed nothing: the full soak, ``--hog 2``, is the benchmark's job).  It must find no
differing grading and no ``error`` verdict; the figures it printed are in the failure
message.  Its record of each grading (``--record``) gives the same figures (``--report``).
The programs are graded as four test items (``--shard I/4``), so the suite's workers share
them instead of one worker grading all 46 at the end of a run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

SHARDS = 4


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("shard", range(1, SHARDS + 1))
def test_short_soak_finds_no_differing_verdict(shard: int, tmp_path: Path) -> None:
    figures = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--lab", "tcp-echo-server",
         "--rounds", "2", "--hog", "0", "--jobs", "2", "--shard", f"{shard}/{SHARDS}",
         "--json", str(figures), "--record", str(tmp_path / "soak.jsonl")],
        capture_output=True, text=True, timeout=840, check=False)
    report = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    soak = json.loads(figures.read_text())
    programs = 1 + len(list((ROOT / "tests" / "bugs" / "tcp-echo-server").glob("[a-z]*.py")))
    assert soak["programs"] == len(range(shard - 1, programs, SHARDS)), report
    assert soak["gradings"] == 2 * soak["programs"], report
    assert soak["differing"] == 0, report
    assert soak["errors"] == [], report
    # the record of each grading gives the same figures without grading again
    again = tmp_path / "again.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--report",
                    str(tmp_path / "soak.jsonl"), "--json", str(again)],
                   capture_output=True, text=True, timeout=60, check=True)
    recorded = json.loads(again.read_text())
    assert {k: recorded[k] for k in ("programs", "gradings", "differing", "errors")} == \
        {k: soak[k] for k in ("programs", "gradings", "differing", "errors")}
