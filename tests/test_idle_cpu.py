"""The idle-CPU measurement (grader/probes/generic.py, ``measure_idle_cpu``) on real
processes: a busy loop is failed, and its window ends as soon as that verdict is certain; a
process that blocks is watched for the whole window and passes.

The windows here are long (30 s) and the CPU limit tiny, so "ended early" is decided by the
busy loop's own CPU time, reached within a fraction of a second on an idle machine and within
a few seconds on a loaded one: well inside the window either way.

The same processes show the starved-of-CPU rule (``grader.launch.base.starved``), by which a
client not yet connected or exited at a deadline is given more time: runnable with little CPU
used counts as starved, a blocked process or one that has used its CPU allowance does not.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from grader.launch.base import STARVED_CPU, cpu_seconds, starved, waiting
from grader.probes.common import wait_for
from grader.probes.generic import measure_idle_cpu
from grader.verdict import ProbeFailed


class _Context:
    """What ``measure_idle_cpu`` asks of a probe's context when it is given the program."""

    def __init__(self, seconds: float, max_cpu: float) -> None:
        self.params = {"seconds": seconds, "max_cpu": max_cpu}
        self.logged: list[str] = []

    def param_float(self, name: str) -> float:
        return self.params[name]

    def log(self, text: str) -> None:
        self.logged.append(text)


class _Process:
    """A started process as the measurement sees a program: its pids and its exit status."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc.poll() is None else []

    def poll(self) -> int | None:
        return self.proc.poll()


@contextmanager
def _python(code: str) -> Iterator[Any]:
    """A real process running ``code`` once it has printed ``ready``; killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        yield _Process(proc)
    finally:
        proc.kill()
        proc.wait(10)


def test_a_busy_loop_fails_and_its_window_ends_once_the_verdict_is_certain() -> None:
    ctx = _Context(seconds=30.0, max_cpu=0.002)  # certain past 0.12 CPU seconds
    with (_python("print('ready', flush=True)\nwhile True: pass") as program,
          pytest.raises(ProbeFailed) as failure):
        measure_idle_cpu(ctx, "in the test", program=program)
    assert "busy loop" in failure.value.reason
    actual = failure.value.evidence.actual or ""
    assert "ended early" in actual and "of the 30 s window" in actual, actual
    assert len(ctx.logged) == 1 and "ended early" in ctx.logged[0]


def test_a_blocked_process_is_watched_for_the_whole_window_and_passes() -> None:
    ctx = _Context(seconds=0.3, max_cpu=0.05)
    with _python("import time\nprint('ready', flush=True)\ntime.sleep(60)") as program:
        measure_idle_cpu(ctx, "in the test", program=program)  # type: ignore[arg-type]
    assert len(ctx.logged) == 1 and "over 0.3 s (" in ctx.logged[0], ctx.logged
    assert "ended early" not in ctx.logged[0]


def test_starved_is_runnable_with_little_cpu_used_and_nothing_else() -> None:
    with _python("print('ready', flush=True)\nwhile True: pass") as spinner:
        pids = spinner.pids()
        used = cpu_seconds(pids)
        assert used is not None and used < STARVED_CPU  # just started: indistinguishable
        assert (starved(pids) or "").startswith("runnable with only ")
        spent = wait_for(lambda: True if (cpu_seconds(pids) or 0) >= STARVED_CPU else None,
                         deadline=time.monotonic() + 60)
        assert spent and starved(pids) is None  # it had the CPU and spent it without connecting
    with _python("import time\nprint('ready', flush=True)\ntime.sleep(60)") as sleeper:
        # once it is in its sleep (it prints before it gets there): blocked, not starved
        assert wait_for(lambda: True if waiting(sleeper.pids()) else None,
                        deadline=time.monotonic() + 30)
        assert starved(sleeper.pids()) is None
    assert starved([]) is None  # exited
