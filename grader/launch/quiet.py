"""Whether a server has finished with the connections a probe made: the settle after a probe.

Theory of operation: a probe ends by closing (or resetting) its connections,
and a server that will crash because of that close crashes only once it
has *handled* it: accepted the connection if it was still queued, read the
FIN or the RST, closed its socket.  Until then the crash is still to come,
and a runner that moved on would charge it to the next probe.  So after a
probe the runner waits, bounded, for two facts the kernel states exactly:

* the server's listening socket on its port has an empty accept queue
  (``NETLINK_SOCK_DIAG`` dump of the LISTEN sockets, ``man 7 sock_diag``;
  for a listener the receive-queue field is the number of connections
  waiting to be accepted), asked from a netlink socket made in the
  server's network namespace (:meth:`grader.launch.base.Program.socket`);
* the server's processes hold no socket they did not hold before the probe
  (``/proc/PID/fd`` links ``socket:[INODE]``): every connection the probe
  made has been closed on the server's side.

Closing its socket is not yet surviving: a ``with conn:`` block closes it
while the exception that will kill the process is still unwinding.  So a
third fact is required, twice in a row: every thread of the server sleeps
until an event (``/proc/PID/task/TID/stat`` state S; not R, running or
waiting for a CPU, nor D, waiting for the disk).  A server that handled the
close and lives is back to waiting for its next event; one that is dying,
or starved of CPU, is not, until it is done.

A thread that never sleeps (a loop polling a non-blocking ``accept``) would
keep the third fact from ever holding.  Once the server has let go of every
connection of the probe, a thread that was already at work before the probe
and has used a tenth of a CPU second since the settle began, and still
runs, is taken for such a loop, and the server is settled.  One that began
to run only after the probe is waited for: it may be a crash on its way.

A correct server settles within milliseconds of the probe's end, so the
settle costs that and no fixed pause; a starved one gets as long as it
needs, up to the runner's bound.  A server that keeps a connection open
for good (an fd leak) or leaves one unaccepted (a hang) settles once no
thread of it was at work over a few looks spanning 20 ms, and no
connection on its port is still ESTABLISHED on its side: on a loaded
machine the kernel may hand the probe's FIN on later than the close, and a
server blocked in ``recv`` until then is not at rest yet.

A server still holding a connection of the probe at the bound, at work or
still waiting for that FIN, is *lingering* (:class:`Settling`): a loop that
ignores ``recv() == b''`` spins on a closed connection for good, and the
runner starts such a server afresh rather than let it fail every later
probe.  A listener this grader cannot ask about (no netlink) is not waited
for.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from grader.launch.base import BusyWatch, Program, socket_inodes, threads_at_work
from grader.launch.sockdiag import NETLINK_SOCK_DIAG, accept_backlog, unfinished

#: Seconds between two looks while a server has not settled.
POLL = 0.005
#: Looks in a row, spanning at least IDLE_SPAN seconds, that find every thread of a server
#: waiting: it is blocked with nothing left to handle (it keeps a connection open for good).
IDLE_LOOKS = 4
IDLE_SPAN = 0.02
#: Seconds the looks in a row span that find a server let go of the probe's connections while
#: a thread of it spins (:func:`settle`): longer than a crashing Python server takes to exit
#: once its thread has closed the connection, so a crash is not mistaken for a busy loop.
SPUN_SPAN = 0.05


class _Streak:
    """Looks in a row at which a condition held: enough once ``looks`` of them span at least
    ``span`` seconds."""

    def __init__(self, looks: int, span: float) -> None:
        self.looks, self.span = looks, span
        self.count, self.since = 0, 0.0

    def see(self, held: bool, now: float) -> bool:
        """Count one look (``now`` on ``time.monotonic()``); True once the streak is enough."""
        if not held:
            self.count = 0
            return False
        self.since = now if self.count == 0 else self.since
        self.count += 1
        return self.count >= self.looks and now - self.since >= self.span


def diag_socket(program: Program) -> socket.socket | None:
    """A ``NETLINK_SOCK_DIAG`` socket in ``program``'s network namespace, or None."""
    try:
        diag = program.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    except OSError:
        return None
    diag.settimeout(1.0)
    return diag


def blocked(program: Program, *, deadline: float, loops: Collection[str] | None = None,
            looks: int = 2, span: float = 0.01) -> bool:
    """Wait until every thread of ``program`` sleeps until an event, or is a busy loop
    (:class:`grader.launch.base.BusyWatch`: it has used :data:`grader.launch.base.SPENT_CPU` CPU seconds
    since the wait began and still runs), on ``looks`` looks in a row spanning at least
    ``span`` seconds; False at ``deadline`` (on ``time.monotonic()``) or once it has no
    process left.  ``loops``, when given, are the only thread ids that may be taken for
    busy loops: the threads at work (:func:`grader.launch.base.threads_at_work`) just before
    the grader gave the program what it waits for it to take, so a thread doing work of
    its own because of it (a client handling a line for more than 0.1 CPU s) is waited for.

    One look can catch a busy program between two steps (a thread that blocked for a
    moment on a pipe, a page fault counted as a sleep elsewhere); the looks in a row are
    what tells a program waiting for its next event from one still at work.  A busy loop
    never blocks; once it has had that much CPU it has had its chance to take what it was
    given, and waiting longer would only wait out the deadline.
    """
    streak = _Streak(looks, span)
    watch = BusyWatch(program.pids, loops=loops)
    while True:
        pids = program.pids()
        if not pids:
            return False
        now = time.monotonic()
        if streak.see(watch.look(pids).at_rest, now):
            return True
        if now >= deadline:
            return False
        program.wait(min(POLL, max(0.0, deadline - now)))


def _fins_pending(diag: socket.socket | None, port: int | None) -> bool:
    """True when a connection on the server's ``port`` is still ESTABLISHED on its side
    although the probe closed every one: a FIN the kernel has not handed on yet
    (:func:`grader.launch.sockdiag.unfinished`).  False when it cannot be asked."""
    if diag is None or port is None:
        return False
    return bool(unfinished(diag, port))


def held_sockets(pids: Iterable[int]) -> frozenset[str]:
    """Inodes of every socket the processes ``pids`` hold open (as text)."""
    found: set[str] = set()
    for pid in pids:
        found |= socket_inodes(pid)
    return frozenset(found)


@dataclass(frozen=True)
class Before:
    """A server just before a probe: the sockets it held (inodes, as text) and the ids of its
    threads at work then (running or waiting for a CPU: a server at rest has none; a busy
    loop of its own has one)."""

    sockets: frozenset[str]
    at_work: frozenset[str] = frozenset()


def before_probe(pids: Sequence[int]) -> Before:
    """What :func:`settle` compares with after the probe (:class:`Before`) of the processes
    ``pids``."""
    return Before(sockets=held_sockets(pids), at_work=threads_at_work(pids))


@dataclass(frozen=True)
class Settling:
    """How a :func:`settle` ended.

    ``status`` is the exit status when the program exited (None: it runs);
    ``settled`` is True when it got back to waiting for its next event;
    ``lingering`` is True when, at the bound, it still held a socket it did
    not hold before the probe while a thread of it was at work or a FIN the
    probe sent had not reached it: it has not let go of a connection the
    probe closed (a loop that ignores ``recv() == b''`` spins on it for
    good), or a loaded machine has not let it yet.
    """

    status: int | None
    settled: bool = False
    lingering: bool = False


def settle(program: Program, *, port: int | None, before: Before,
           timeout: float) -> Settling:
    """Wait until ``program`` has handled the connections a probe just closed, or has exited.

    ``before`` is :func:`before_probe` of its processes, taken before the
    probe; ``port`` the server's TCP port (None: no listener to watch).
    Settled means two looks in a row (:data:`POLL` apart) find no connection
    waiting in its accept queue, no socket it did not hold before, and every
    thread waiting; or that, with :data:`IDLE_LOOKS` looks in a row spanning
    at least :data:`SPUN_SPAN` seconds, every thread waiting but those that
    were at work already before the probe and have used
    :data:`grader.launch.base.SPENT_CPU` CPU seconds since the settle began
    and still run (a busy loop of its own, such as a non-blocking ``accept``
    polled in a loop, holding none of the probe's connections: it would
    never block; a thread that started running only after the probe may be
    a crash on its way, or work the probe caused, and is waited for);
    or, for a server that keeps a connection open for good
    (an fd leak) or leaves one unaccepted (a hang), :data:`IDLE_LOOKS` looks
    in a row spanning at least :data:`IDLE_SPAN` seconds find every thread
    waiting and no connection on ``port`` still waiting for the FIN the probe
    sent (a server blocked in ``recv`` only until that FIN arrives is not yet
    at rest).  A busy loop that still holds a connection of the probe (it
    spins on it) is lingering.  Returns how it ended (:class:`Settling`):
    exited within ``timeout`` seconds, settled, or still busy at the bound.
    """
    deadline = time.monotonic() + timeout
    diag = diag_socket(program) if port is not None else None
    clear, idle = _Streak(2, 0.0), _Streak(IDLE_LOOKS, IDLE_SPAN)
    spun = _Streak(IDLE_LOOKS, SPUN_SPAN)
    watch = BusyWatch(program.pids, loops=before.at_work)
    try:
        while True:
            status = program.poll()
            if status is not None:
                return Settling(status)
            pids = program.pids()
            backlog = accept_backlog(diag, port) if diag is not None and port is not None else None
            let_go = held_sockets(pids) <= before.sockets
            nothing_left = not backlog and let_go
            look = watch.look(pids)  # looked at after the sockets: at rest since
            at_rest = look.waiting
            now = time.monotonic()
            if clear.see(nothing_left and at_rest, now):
                return Settling(None, settled=True)
            if spun.see(nothing_left and look.at_rest, now):
                return Settling(None, settled=True)
            if idle.see(at_rest, now):
                if let_go or not _fins_pending(diag, port):
                    return Settling(None, settled=True)
                idle = _Streak(IDLE_LOOKS, IDLE_SPAN)  # at rest only until a FIN arrives
            left = deadline - now
            if left <= 0:
                return Settling(None, lingering=not let_go
                                and (not at_rest or _fins_pending(diag, port)))
            status = program.wait(min(POLL, left))  # returns at once if it exits
            if status is not None:
                return Settling(status)
    finally:
        if diag is not None:
            diag.close()
