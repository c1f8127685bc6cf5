"""Nothing left behind: ownership labels, an exit-time backstop, and the cleanup sweep.

Theory of operation: every container and network the Docker launcher makes
carries the label ``sockgrade=1``, a run id and an *owner*: this host's
name, the grader's PID and that process's start time.  Three layers make
sure they go away:

1. the normal path: a program's ``stop()`` and the launcher's ``close()``
   remove what they made, whatever happened (``finally`` blocks);
2. the backstop: each resource also registers an undo action in
   :data:`REGISTRY`, run by ``atexit`` (an uncaught exception, ``sys.exit``,
   and — once :func:`install_signal_handlers` ran — SIGTERM and SIGHUP);
3. the sweep (:mod:`grader.launch.cleanup`): a grader killed outright
   (SIGKILL, power loss) cannot clean up, so every new Docker launcher
   first removes resources whose owner process is gone, and ``sockgrade
   cleanup`` does the same on demand.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import psutil

#: Label on every container and network sockgrade makes (value "1").
LABEL = "sockgrade"
#: Label naming the grading run (one launcher).
RUN_LABEL = "sockgrade.run"
#: Label naming the owning grader process: ``host/pid/start-time``.
OWNER_LABEL = "sockgrade.owner"
#: Label on a network naming its bridge interface (and so its firewall chain).
BRIDGE_LABEL = "sockgrade.bridge"
#: Prefix of the host staging folders holding copies of submissions.
STAGING_PREFIX = "sockgrade-docker-"


def owner_id(pid: int | None = None) -> str:
    """This process (or ``pid``) as an owner label value: ``host/pid/start-time``."""
    pid = os.getpid() if pid is None else pid
    started = int(psutil.Process(pid).create_time() * 100)
    return f"{socket.gethostname()}/{pid}/{started}"


def owner_alive(owner: str | None) -> bool:
    """True unless ``owner`` names a process of this host that no longer exists.

    A malformed label is treated as dead (a leftover); another host's owner
    as alive (not ours to judge).
    """
    if not owner:
        return False
    try:
        host, pid_text, started = owner.split("/")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    try:
        return int(psutil.Process(pid).create_time() * 100) == int(started)
    except (psutil.Error, ValueError):
        return False


class Registry:
    """Undo actions for live resources, run at interpreter exit (the backstop).

    ``add`` returns a token; ``discard(token)`` forgets an action once the
    normal path has run it.  Actions run newest first; their errors are
    swallowed (the exit must go on).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._actions: dict[int, Callable[[], None]] = {}
        self._counter = itertools.count()
        atexit.register(self.run_all)

    def add(self, action: Callable[[], None]) -> int:
        """Register ``action``; returns its token."""
        with self._lock:
            token = next(self._counter)
            self._actions[token] = action
        return token

    def discard(self, token: int | None) -> None:
        """Forget the action of ``token`` (no-op for None or an unknown token)."""
        if token is None:
            return
        with self._lock:
            self._actions.pop(token, None)

    def run_all(self) -> None:
        """Run and forget every registered action, newest first."""
        with self._lock:
            actions = [self._actions[k] for k in sorted(self._actions, reverse=True)]
            self._actions.clear()
        for action in actions:
            with contextlib.suppress(Exception):
                action()


#: The process-wide backstop: whatever the Docker launcher makes registers here.
REGISTRY = Registry()


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into ``SystemExit`` so ``finally`` blocks and atexit run.

    Only from the main thread, and only for signals still at their default
    action (a host program's own handlers are left alone).  Ctrl-C already
    raises KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _exit_on_signal)


def staging_folder() -> Path:
    """A new, empty host folder for staging copies, named after this process."""
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-"))
