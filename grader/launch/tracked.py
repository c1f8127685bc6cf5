"""A launcher wrapper that remembers its programs, so an interrupt can stop them all.

Theory of operation: a command that may be interrupted (``check``, each
submission of ``batch``) starts its programs through a :class:`TrackedLauncher`;
on Ctrl-C, SIGTERM or SIGHUP it calls :meth:`TrackedLauncher.abort`, which
stops every program started so far and makes later starts fail, so the
grading winds down at once instead of restarting what it lost.  It also
sums where its programs' launch time went (:meth:`TrackedLauncher.phases`),
which a batch records in each student's report.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from grader.errors import LaunchError
from grader.launch.base import Launcher, LaunchSpec, Program, phases_of

#: Most seconds :meth:`TrackedLauncher.abort` waits for starts in progress to end.
START_GRACE = 30.0


class TrackedLauncher:
    """A launcher that remembers its programs so an interrupt can stop them.

    Forwards everything to the shared launcher; after :meth:`abort`, starting
    a program raises :class:`LaunchError` and :attr:`aborted` tells the
    grading it was cut short.
    """

    def __init__(self, inner: Launcher) -> None:
        self._inner = inner
        self._programs: list[Program] = []
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)  # notified when a start ends
        self._starting = 0  # starts in progress in other threads
        self._released = False
        self.aborted = False
        self.name = inner.name
        self.bind_host = inner.bind_host
        self.isolated_network = inner.isolated_network

    @property
    def network_mode(self) -> str:
        """The shared launcher's."""
        return self._inner.network_mode

    @property
    def listen_host(self) -> str:
        """The shared launcher's (read when needed: Docker makes a network for it)."""
        return self._inner.listen_host

    @property
    def client_host(self) -> str:
        """The shared launcher's (read when needed)."""
        return self._inner.client_host

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    def start(self, spec: LaunchSpec) -> Program:
        """Start ``spec`` with the shared launcher, unless the grading was interrupted."""
        with self._lock:
            if self._released:  # set by abort() too
                raise LaunchError("the grading was interrupted" if self.aborted
                                  else "the grading is over")
            self._starting += 1
        program: Program | None = None
        try:
            program = self._inner.start(spec)
        finally:
            with self._lock:
                self._starting -= 1
                if program is not None:
                    self._programs.append(program)
                late = self._released
                self._settled.notify_all()
        if late:
            program.stop()
            raise LaunchError("the grading was interrupted")
        return program

    @property
    def launches(self) -> int:
        """How many programs this grading started."""
        with self._lock:
            return len(self._programs)

    def phases(self) -> dict[str, float]:
        """Seconds by phase of launching and stopping, summed over this grading's programs
        (see :func:`grader.launch.base.phases_of`)."""
        with self._lock:
            programs = list(self._programs)
        total: dict[str, float] = {}
        for program in programs:
            for phase, seconds in phases_of(program).items():
                total[phase] = total.get(phase, 0.0) + seconds
        return total

    def abort(self) -> None:
        """Stop every program this grading started; later starts fail.

        A start in progress in another thread is waited for (at most
        :data:`START_GRACE` seconds) and its program stopped too: the caller may
        exit right after, and a program whose start outlived the grader would
        run on.
        """
        self._end(interrupted=True)

    def release(self) -> None:
        """The grading is over: later starts fail, a start still in progress (in a thread the
        grading left behind) is waited for (at most :data:`START_GRACE` seconds), and every
        program this grading started is stopped; those already stopped are left as they are.
        Not an interrupt: :attr:`aborted` stays False.
        """
        self._end(interrupted=False)

    def _end(self, *, interrupted: bool) -> None:
        """Refuse later starts, wait for starts in progress, stop every program started."""
        with self._lock:
            if interrupted:
                self.aborted = True
            self._released = True
            self._settled.wait_for(lambda: self._starting == 0, timeout=START_GRACE)
            programs = list(self._programs)
        for program in programs:
            with contextlib.suppress(Exception):  # best effort: each stop is idempotent
                program.stop()

    def close(self) -> None:
        """The shared launcher is closed by its owner, not through the wrapper."""
