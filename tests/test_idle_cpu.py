"""The idle-CPU measurement (grader/probes/generic.py, ``measure_idle_cpu``) on real
processes: a busy loop is failed, and its window ends as soon as that verdict is certain; a
process that blocks is watched for the whole window and passes.

The windows here are long (30 s) and the CPU limit tiny, so "ended early" is decided by the
busy loop's own CPU time, reached within a fraction of a second on an idle machine and within
a few seconds on a loaded one: well inside the window either way.

The same kind of processes show the starved-of-CPU rule (``grader.launch.base.starved`` and
``StarvedWatch``), by which a program that missed a deadline (a server's start, a client's
connection or exit) is given more time: runnable with little CPU used counts as starved, a
process blocked for a while or one that has used its CPU allowance does not.  And the
busy-loop rule (``BusyWatch``, ``quiet.blocked``), by which a wait for a program to block
ends once a thread that never blocks has spent a tenth of a CPU second: it is a busy loop of
its own, not a thread still owed the CPU.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers import TESTS, grade, unpassed_story, verdict

from grader.launch.base import (
    BLOCKED_FOR,
    PROGRAM_SPENT_CPU,
    SPENT_CPU,
    STARVED_CPU,
    BusyWatch,
    LaunchSpec,
    StarvedWatch,
    cpu_seconds,
    starved,
    threads_at_work,
    waiting,
)
from grader.launch.local import LocalLauncher
from grader.launch.quiet import blocked
from grader.probes.common import wait_for
from grader.probes.generic import measure_idle_cpu
from grader.verdict import Outcome, ProbeFailed


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


def test_a_moments_block_does_not_end_the_wait_for_a_starved_program() -> None:
    """A program that blocks for 30 ms at a time between bursts of work (as a starved client
    does in a connect or a pipe write) is never taken for a blocked one by the watch; a sleeping
    one is, once seen blocked for BLOCKED_FOR seconds without a break, and not before."""
    burst = ("import time\nprint('ready', flush=True)\nwhile True:\n"
             "    end = time.process_time() + 0.01\n    while time.process_time() < end: pass\n"
             "    time.sleep(0.03)")
    with _python(burst) as program:
        watch = StarvedWatch(program.pids)
        looks = []
        until = time.monotonic() + 1.0
        while time.monotonic() < until and (cpu_seconds(program.pids()) or 0) < STARVED_CPU - 0.1:
            looks.append(watch.look())
            time.sleep(0.01)
        assert looks and None not in looks, looks
        assert "blocked for a moment" in looks and watch.first_starved is not None, looks
    with _python("import time\nprint('ready', flush=True)\ntime.sleep(60)") as sleeper:
        assert wait_for(lambda: True if waiting(sleeper.pids()) else None,
                        deadline=time.monotonic() + 30)
        watch = StarvedWatch(sleeper.pids)
        first = time.monotonic()
        assert watch.look() == "blocked for a moment"
        assert wait_for(lambda: True if watch.look() is None else None,
                        deadline=time.monotonic() + 30)
        assert time.monotonic() - first >= BLOCKED_FOR and watch.first_starved is None


#: A process with one thread blocked in a sleep and its main thread in a busy loop.
_SPINNER_BESIDE_A_SLEEPER = ("import threading, time\nthreading.Thread(target=time.sleep, args=(600,), "
                             "daemon=True).start()\nprint('ready', flush=True)\nwhile True: pass")


def test_a_busy_loop_is_owed_time_only_until_it_has_spent_a_tenth_of_a_cpu_second() -> None:
    """BusyWatch: a runnable thread is owed time (a loaded machine may not have run it) until
    it has used SPENT_CPU since the watch began; then it is a busy loop, at rest for a wait
    on it, though never blocked.  A sleeping thread beside it is blocked all along."""
    with _python(_SPINNER_BESIDE_A_SLEEPER) as program:
        watch = BusyWatch(program.pids)
        first = watch.look()
        base = cpu_seconds(program.pids()) or 0.0
        assert not first.waiting
        spent = wait_for(lambda: True if not watch.look().owed else None,
                         deadline=time.monotonic() + 60)
        assert spent and (cpu_seconds(program.pids()) or 0.0) - base >= SPENT_CPU - 0.02
        last = watch.look()
        assert last.at_rest and not last.waiting and not last.owed, last
        assert first.owed and not first.at_rest, first  # the first look: nothing spent yet
        # a thread not among ``loops`` (one that was not at work before the grader gave the
        # program something) is owed time however much CPU it has used, and never at rest
        reacting = BusyWatch(program.pids, loops=frozenset())
        reacting.look()
        base = cpu_seconds(program.pids()) or 0.0
        assert wait_for(lambda: True if (cpu_seconds(program.pids()) or 0.0) - base >= 2 * SPENT_CPU
                        else None, deadline=time.monotonic() + 60)
        still = reacting.look()
        assert still.owed and not still.at_rest and not still.waiting, still
    with _python("import time\nprint('ready', flush=True)\ntime.sleep(60)") as sleeper:
        assert wait_for(lambda: True if waiting(sleeper.pids()) else None,
                        deadline=time.monotonic() + 30)
        look = BusyWatch(sleeper.pids).look()
        assert look.waiting and look.at_rest and not look.owed, look
    none = BusyWatch([]).look()  # no process: none of the three
    assert not (none.waiting or none.at_rest or none.owed)


def test_waiting_for_a_program_to_block_ends_once_its_busy_loop_has_spent_its_chance() -> None:
    """quiet.blocked, by which client probes wait until the client has taken what it was sent:
    a busy loop never blocks, and the wait ends once it has had the CPU (well before the
    30 s deadline here), not at the deadline; a sleeper is blocked at once."""
    launcher = LocalLauncher(own_network=False)
    for code in (_SPINNER_BESIDE_A_SLEEPER, "import time\nprint('ready', flush=True)\ntime.sleep(60)"):
        program = launcher.start(LaunchSpec(argv=(sys.executable, "-c", code), cwd=Path.cwd()))
        try:
            assert wait_for(lambda p=program: True if b"ready" in p.output().stdout else None,
                            deadline=time.monotonic() + 30)
            started = time.monotonic()
            assert blocked(program, deadline=started + 30)
            assert time.monotonic() - started < 25
        finally:
            program.stop()


#: A process that, for each line on stdin (a number of seconds), works for that much CPU
#: time, then prints ``done`` and blocks on stdin again.
_WORKS_ON_EACH_LINE = ("import sys, time\nprint('ready', flush=True)\nfor line in sys.stdin:\n"
                       "    end = time.process_time() + float(line)\n"
                       "    while time.process_time() < end: pass\n"
                       "    print('done', flush=True)")


def test_a_thread_working_on_what_it_was_given_is_waited_for_until_it_blocks() -> None:
    """quiet.blocked with ``loops`` (the threads at work before the stimulus, as the client
    probes take them): a client that works 0.6 CPU s on a line before it reads again is
    waited for until it has done that work and blocked, not taken for a busy loop once it
    has spent 0.1 CPU s.  Without ``loops`` (any thread may be a loop) the wait ends while
    such work goes on (1.5 CPU s of it here, so that the test's look after the wait comes
    before its end even on a loaded machine): the rule is what tells the two apart."""
    launcher = LocalLauncher(own_network=False)
    program = launcher.start(LaunchSpec(argv=(sys.executable, "-c", _WORKS_ON_EACH_LINE),
                                        cwd=Path.cwd()))
    try:
        assert wait_for(lambda: True if b"ready" in program.output().stdout else None,
                        deadline=time.monotonic() + 30)
        for expect_done, rule, work in ((True, "before", b"0.6"), (False, None, b"1.5")):
            assert wait_for(lambda: True if waiting(program.pids()) else None,
                            deadline=time.monotonic() + 30)
            printed = program.output().stdout.count(b"done")
            loops = threads_at_work(program.pids()) if rule else None
            assert loops == frozenset() or rule is None  # blocked on stdin: nothing at work
            program.write_stdin(work + b"\n", deadline=time.monotonic() + 30)
            assert blocked(program, deadline=time.monotonic() + 30, loops=loops)
            finished = program.output().stdout.count(b"done") > printed
            assert finished is expect_done, (rule, program.output().stdout)
            # the work goes on to the end either way before the next round
            assert wait_for(lambda n=printed: True if program.output().stdout.count(b"done") > n
                            else None, deadline=time.monotonic() + 30)
    finally:
        program.stop()



#: A program of many processes, each spinning: none has a tenth of a CPU second soon.
_MANY_SPINNERS = ("import os\nfor _ in range(24):\n    if os.fork() == 0:\n        while True: pass\n"
                  "print('ready', flush=True)\nwhile True: pass")


def test_a_program_of_many_spinners_is_not_starved_once_it_had_a_quarter_cpu_second() -> None:
    """BusyLook.starved: however many of a program's threads are each still owed time (25
    spinning processes, each with a sliver of the cores), once their CPU since the watch
    began adds up to PROGRAM_SPENT_CPU the program had the CPU, and a read's deadline holds."""
    launcher = LocalLauncher(own_network=False)
    program = launcher.start(LaunchSpec(argv=(sys.executable, "-c", _MANY_SPINNERS), cwd=Path.cwd()))
    try:
        assert wait_for(lambda: True if b"ready" in program.output().stdout else None,
                        deadline=time.monotonic() + 30)
        watch = BusyWatch(program.pids)
        first = watch.look()
        assert len(program.pids()) == 25 and first.owed and first.starved, first
        look = wait_for(lambda: (lambda seen: seen if seen.spent >= PROGRAM_SPENT_CPU else None)(
            watch.look()), deadline=time.monotonic() + 60)
        assert look is not None and not look.starved, look
        # no spinner alone has had SPENT_CPU yet (25 share the cores): the rule per thread
        # would still wait on them
        assert look.owed, look
    finally:
        program.stop()


def test_a_server_whose_48_processes_spin_on_a_message_fails_the_echo_not_for_want_of_cpu() -> None:
    """At the reply deadline each of the server's 48 spinning children is runnable with little
    CPU of its own, but together they had the CPU (PROGRAM_SPENT_CPU): the echo is failed
    (its fault), and not an error for a starved program (as it was while each child had to spend a tenth of a
    CPU second first: 48 on two cores take 2.4 s, past the extra reply timeout)."""
    result = grade("tcp-echo-server", TESTS / "programs" / "forks_spinners_on_message_server.py",
                   select=("startup/*", "echo/one-message"))
    echo = verdict(result, "echo/one-message")
    assert echo.outcome is Outcome.FAILED, unpassed_story(result)
    assert any("had had the CPU" in line for line in echo.transcript), echo.transcript
