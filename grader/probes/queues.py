"""Has the server read what we sent?  Socket queue observations for split-message probes.

Theory of operation: to make a message reach a program *as a split* (a
header in one recv(), the rest in another) the grader sends the first
piece, then waits until (1) the kernel on the far side has acknowledged it
(our send queue is empty: ``SIOCOUTQ``) and (2) the server's own socket has
nothing left unread (its receive queue is empty: the program called
recv()), and only then sends the next piece.  Both are real conditions, so
the split does not depend on the machine's speed or load.  :class:`Pacer`
does this between the pieces of any split send (``Conn.send_all``'s
``pace``), or called by a probe between the pieces it writes itself: every
probe that splits a message uses it.

The server's receive queue is read from the kernel, for the server's end of
the grader's connection, by one exact ``sock_diag`` netlink lookup (Linux
``man 7 sock_diag``) asked in the program's network namespace (its own, or
the grader's on a shared loopback; :func:`grader.launch.quiet.diag_socket`).
The kernel finds that one socket by its addresses, where a read of
``/proc/PID/net/tcp`` walks the table of every connection of every
namespace (262,144 buckets on a 24 GiB machine, 6 ms of kernel time a read)
and may skip a row while others come and go.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios
from collections.abc import Sequence

from grader.context import ProbeContext
from grader.launch import sockdiag
from grader.launch.base import Program
from grader.launch.quiet import diag_socket
from grader.launch.sockdiag import SocketInfo
from grader.net import Conn
from grader.probes.common import POLL, wait_for


def unacked(conn: Conn) -> int:
    """Bytes sent on ``conn`` that the peer's kernel has not acknowledged yet (``SIOCOUTQ``)."""
    raw = fcntl.ioctl(conn.sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    return int(struct.unpack("i", raw)[0])


Address = tuple[str, int]


def server_end_at(ctx: ProbeContext, server: Address, client: Address, *,
                  program: Program | None = None) -> SocketInfo | None:
    """The kernel's view of the server's end of the connection from ``client`` to ``server``
    (host, port): one exact sock_diag lookup in the program's network namespace.

    The program is the server under test, or ``program`` when given: the peer program
    whose end it is, such as a client the grader serves (then ``server`` is the client
    program's address, ``client`` the grader's).  None once that socket is gone (closed by
    the program, or reset and closed by its kernel: a socket in state CLOSE has left the
    kernel's table), and when the kernel cannot be asked.
    """
    program = program or ctx.program
    if program is None:
        return sockdiag.lookup(server, client)  # no program: the grader's own namespace
    diag = diag_socket(program)
    if diag is None:  # its namespace is gone (a container that exited): so is the socket
        return None
    with diag:
        try:
            return sockdiag.find(diag, server, client)
        except (OSError, ValueError):
            return None


def ends(conn: Conn) -> tuple[Address, Address] | None:
    """(server, client) addresses of ``conn`` as (host, port) pairs; None once it is not
    connected any more."""
    try:
        theirs = conn.sock.getpeername()
        ours = conn.sock.getsockname()
    except OSError:
        return None
    return (theirs[0], theirs[1]), (ours[0], ours[1])


def server_end(ctx: ProbeContext, conn: Conn) -> SocketInfo | None:
    """The kernel's view of the server's end of ``conn`` (:func:`server_end_at`); None once
    it is gone or ``conn`` is not connected any more."""
    pair = ends(conn)
    return None if pair is None else server_end_at(ctx, *pair)


def server_end_state(diag: socket.socket, server: Address, client: Address) -> int | None:
    """The TCP state of the server's end of the connection from ``client`` to ``server`` (host,
    port), looked up exactly through ``diag`` (sock_diag in the server's network namespace,
    :func:`grader.launch.sockdiag.find`); None once that socket is gone.

    After the client closes: ESTABLISHED while its FIN has not reached the
    server's kernel yet (on a loaded machine, a moment after close()
    returns), CLOSE_WAIT once it has while the program keeps the socket,
    LAST_ACK or gone once the program closed it.  Raises OSError when the
    kernel cannot be asked.
    """
    info = sockdiag.find(diag, server, client)
    return None if info is None else info.state


def accepted(pids: Sequence[int], inode: int) -> bool:
    """True while one of ``pids`` holds socket ``inode`` (the server accepted that connection and
    has not closed it)."""
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    return False


def read_by_server(ctx: ProbeContext, conn: Conn, *, interval: float = POLL,
                   program: Program | None = None) -> bool:
    """Wait until every byte sent on ``conn`` reached the server and the server read it.

    Two real conditions, polled until the reply deadline: our send queue is
    acknowledged (:func:`unacked` is 0: the bytes are in the server's kernel) and the
    server's receive queue is empty or gone (:func:`server_end`: its program called
    recv()).  A request split in pieces thus reaches the program as pieces, whatever the
    machine's load.  True at once when ``conn`` was reset (nothing more reaches the
    server).  False when the deadline passed first (a program that never reads; the caller
    goes on).  ``interval``: seconds between two looks; ``program``: the peer program, when
    it is not the server under test (:func:`server_end_at`).
    """

    def done() -> bool | None:
        pair = ends(conn)
        if pair is None:  # reset: nothing more reaches the server (SIOCOUTQ still counts the
            return True   # bytes the reset left unacknowledged: snd_una stops moving)
        if unacked(conn):
            return None
        end = server_end_at(ctx, *pair, program=program)
        return True if end is None or not end.unread else None

    return wait_for(done, deadline=ctx.reply_deadline(), interval=interval) is not None


class Pacer:
    """The ``pace`` of a split send (:meth:`grader.net.Conn.send_all`): before each piece after
    the first, wait until the server has read the one before (:func:`read_by_server`, looks
    1 ms apart), so each recv() it makes returns one piece whatever the machine's load.

    A server starved of CPU would otherwise find several pieces in one recv() and pass a
    probe about split messages by chance (seen in a soak: a one-recv() server passing
    ``partial/one-byte-writes`` once in 22 gradings under two busy processes).  After the
    first piece the server has not read by the reply deadline (a server that never reads),
    :attr:`held` is False, the wait is logged, and only the caller's gap spaces the rest
    (the gap is kept between every two pieces either way).  A probe that writes its pieces
    itself calls it before each piece it wants read apart (HTTP at a request's cuts, FTP
    between a command's pieces).  ``program`` is the peer program when it is not the server
    under test: a client the grader serves (the echo client's split echo).
    Source: docs/labs.md §1, §5, §7–§11, §13, §14 (one recv() is not one message).
    """

    def __init__(self, ctx: ProbeContext, conn: Conn, *, program: Program | None = None) -> None:
        self.ctx = ctx
        self.conn = conn
        self.program = program
        self.held = True
        #: Who reads the pieces, as the transcript names it.
        self.reader = "the server" if program is None else "the program"

    def __call__(self) -> bool:
        if self.held and not read_by_server(self.ctx, self.conn, interval=0.001,
                                            program=self.program):
            self.held = False
            self.ctx.log(f"{self.reader} had not read the last piece by the reply deadline: "
                         "the rest goes without waiting for it")
        return self.held

    def describe(self) -> str:
        """How the pieces went, for the probe's transcript."""
        return (f"each once {self.reader} had read the one before" if self.held
                else f"not waited for after {self.reader} stopped reading")

