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
3. the sweep: a grader killed outright (SIGKILL, power loss) cannot clean
   up, so every new Docker launcher first removes resources whose owner
   process is gone, and ``sockgrade cleanup`` does the same on demand
   (``--all``: also those of runs still alive).

The sweep also removes the launcher's iptables chains (named
``SOCKGRADE-<hex>``) whose network is gone, and staging folders
(``<temp>/sockgrade-docker-<pid>-*``) of dead processes.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """What a sweep removed (counts) and what it could not do (``problems``)."""

    containers: int = 0
    networks: int = 0
    chains: int = 0
    folders: int = 0
    groups: int = 0
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the user, e.g. ``removed 2 containers, 2 networks, ...``."""
        return (f"removed {self.containers} container(s), {self.networks} network(s), "
                f"{self.chains} firewall chain(s), {self.folders} staging folder(s), "
                f"{self.groups} local process group(s)")


def sweep(client: Any, *, everything: bool = False) -> SweepResult:
    """Remove sockgrade's leftovers from the Docker engine ``client`` and this host.

    By default only resources whose owner process is gone; with
    ``everything`` also those of runs still in progress.  With ``client``
    None (no engine) only the host's staging folders go, and with
    ``everything`` every sockgrade firewall chain.  Never raises for a
    resource that vanished meanwhile; problems are returned as text.
    """
    from grader.launch import sandboxnet

    problems: list[str] = []
    containers = networks = 0
    if client is None:
        chains, chain_problems = sandboxnet.remove_stale_chains(keep=set(),
                                                                everything=everything)
        return SweepResult(chains=chains, folders=_sweep_folders(everything=everything),
                           problems=tuple(chain_problems))
    for info in client.api.containers(all=True, filters={"label": LABEL}):
        if everything or not owner_alive((info.get("Labels") or {}).get(OWNER_LABEL)):
            try:
                client.api.remove_container(info["Id"], force=True, v=True)
                containers += 1
            except Exception as exc:
                if "No such container" not in str(exc):
                    problems.append(f"container {info['Id'][:12]}: {exc}")
    live_bridges: set[str] = set()
    for info in client.api.networks(filters={"label": LABEL}):
        labels = info.get("Labels") or {}
        if everything or not owner_alive(labels.get(OWNER_LABEL)):
            try:
                client.api.remove_network(info["Id"])
                networks += 1
                continue
            except Exception as exc:
                if "not found" not in str(exc).lower():
                    problems.append(f"network {info.get('Name')}: {exc}")
        if labels.get(BRIDGE_LABEL):
            live_bridges.add(labels[BRIDGE_LABEL])
    chains, chain_problems = sandboxnet.remove_stale_chains(keep=live_bridges,
                                                            everything=everything)
    problems.extend(chain_problems)
    folders = _sweep_folders(everything=everything)
    return SweepResult(containers=containers, networks=networks, chains=chains,
                       folders=folders, problems=tuple(problems))


def staging_folder() -> Path:
    """A new, empty host folder for staging copies, named after this process."""
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-"))


def _sweep_folders(*, everything: bool) -> int:
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*"):
        pid_text = path.name[len(STAGING_PREFIX):].split("-", 1)[0]
        alive = pid_text.isdigit() and psutil.pid_exists(int(pid_text))
        if path.is_dir() and (everything or not alive):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
