"""Has the server read what we sent?  Socket queue observations for split-message probes.

Theory of operation: to make a message reach a program *as a split* (a
header in one recv(), the rest in another) the grader sends the first
piece, then waits until (1) the kernel on the far side has acknowledged it
(our send queue is empty: ``SIOCOUTQ``) and (2) the server's own socket has
nothing left unread (its receive queue is empty: the program called
recv()), and only then sends the next piece.  Both are real conditions, so
the split does not depend on the machine's speed or load.

The server's receive queue is read from the kernel, for the server's end of
the grader's connection:

* local programs share the grader's network namespace, which may hold tens
  of thousands of TIME_WAIT sockets; one exact ``sock_diag`` netlink lookup
  (Linux ``man 7 sock_diag``) finds that socket without
  listing them all;
* a program with a namespace of its own (Docker) is read from its
  ``/proc/PID/net/tcp``, which lists only that program's sockets.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios
from collections.abc import Sequence
from pathlib import Path

from grader.context import ProbeContext
from grader.launch import sockdiag
from grader.launch.sockdiag import SocketInfo
from grader.net import Conn
from grader.probes.common import wait_for


def unacked(conn: Conn) -> int:
    """Bytes sent on ``conn`` that the peer's kernel has not acknowledged yet (``SIOCOUTQ``)."""
    raw = fcntl.ioctl(conn.sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    return int(struct.unpack("i", raw)[0])


def _diag_unread(local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """Receive-queue bytes of the TCP socket bound to ``local`` and connected to ``remote``
    (this network namespace), by an exact sock_diag lookup; None when there is none."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, sockdiag.NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        info = sockdiag.find(nl, local, remote)
    return None if info is None else info.unread  # rx_queue: received, not read by the program


def _proc_unread(pid: int, local_port: int, remote_port: int) -> int | None:
    """Receive-queue bytes from ``/proc/PID/net/tcp*`` (the program's network namespace)."""
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if (len(cols) > 4 and int(cols[1].rsplit(":", 1)[1], 16) == local_port
                    and int(cols[2].rsplit(":", 1)[1], 16) == remote_port):
                return int(cols[4].split(":")[1], 16)
    return None


def server_unread(conn: Conn, *, pid: int | None, isolated: bool) -> int | None:
    """Bytes the server has received on ``conn`` but not yet read; None when its end is gone.

    ``pid`` is the server's main process; ``isolated`` is True when it has a
    network namespace of its own (then its ``/proc`` table is read).
    """
    try:
        ours = conn.sock.getsockname()
        theirs = conn.sock.getpeername()
    except OSError:  # not connected any more: the server's end is gone
        return None
    if isolated or conn.sock.family != socket.AF_INET:
        return None if pid is None else _proc_unread(pid, theirs[1], ours[1])
    return _diag_unread((theirs[0], theirs[1]), (ours[0], ours[1]))


def server_end_state(diag: socket.socket, server: tuple[str, int],
                     client: tuple[str, int]) -> int | None:
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


def _server_row(ctx: ProbeContext, conn: Conn, pid: int) -> list[str] | None:
    """The /proc/PID/net/tcp* row of the server's end of ``conn``, split into columns."""
    assert ctx.port is not None
    peer = f":{conn.sock.getsockname()[1]:04X}"
    local = f":{ctx.port:04X}"
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            if peer not in line:
                continue
            cols = line.split()
            if len(cols) >= 10 and cols[1].endswith(local) and cols[2].endswith(peer):
                return cols
    return None


def server_end(ctx: ProbeContext, conn: Conn, pids: Sequence[int]) -> SocketInfo | None:
    """The kernel's view of the server's end of ``conn``; None once it is gone.

    Asked over sock_diag (cheap: one socket, our network namespace); a
    program in a namespace of its own is read from its /proc.
    """
    info = None
    if not ctx.launcher.isolated_network:  # sock_diag sees the grader's own namespace only
        info = sockdiag.lookup(conn.sock.getpeername(), conn.sock.getsockname())
    if info is not None or not pids:
        return info
    row = _server_row(ctx, conn, pids[0])
    if row is None:
        return None
    unsent, unread = (int(part, 16) for part in row[4].split(":"))
    return SocketInfo(state=int(row[3], 16), unread=unread, unsent=unsent, inode=int(row[9]))


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


def state_of(pid: int, inode: int) -> int | None:
    """The TCP state number of socket ``inode`` in ``pid``'s network namespace (7 = CLOSE)."""
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 10 and cols[9] == str(inode):
                return int(cols[3], 16)
    return None


def read_by_server(ctx: ProbeContext, conn: Conn) -> bool:
    """Wait until every byte sent on ``conn`` reached the server and the server read it.

    Two real conditions, polled until the reply deadline: our send queue is
    acknowledged (:func:`unacked` is 0: the bytes are in the server's kernel) and the
    server's receive queue is empty or gone (:func:`server_unread`: its program called
    recv()).  A request split in pieces thus reaches the program as pieces, whatever the
    machine's load.  False when the deadline passed first (a program that never reads;
    the caller goes on).
    """
    pids = ctx.program.pids() if ctx.program is not None else []
    pid = pids[0] if pids else None

    def done() -> bool | None:
        if unacked(conn):
            return None
        unread = server_unread(conn, pid=pid, isolated=ctx.launcher.isolated_network)
        return True if not unread else None

    return wait_for(done, deadline=ctx.reply_deadline()) is not None
