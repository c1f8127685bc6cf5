"""Signals that end a command: Ctrl-C, SIGTERM and SIGHUP stop what sockgrade started.

Theory of operation: while a command runs, SIGTERM and SIGHUP raise
:class:`Terminated` in the main thread, exactly as Ctrl-C raises
:class:`KeyboardInterrupt` (of which it is a subclass), so one ``except``
path stops every program the command started, removes its containers and
networks, and exits with the shell's status for that signal (128 + its
number: 130, 143, 129).  A program left running after its grader is gone
would hold its port and its CPU; none may be.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The signals handled like Ctrl-C.
HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(exc: KeyboardInterrupt) -> int:
    """128 + the signal number: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else signal.SIGINT)


@contextmanager
def handled() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    Outside the main thread (a library caller's worker) nothing is installed.
    The previous handlers come back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
