"""TCP and UDP sockets' kernel state over netlink (sock_diag): one socket, or a dump.

Theory of operation: ``/proc/net/tcp`` lists every TCP socket of a network
namespace as text, TIME_WAIT ones included, by walking the kernel's table of
every connection of every namespace (262,144 buckets on a 24 GiB machine);
one read costs 6 ms of kernel time and more under load, ``tcp6`` twice that,
too much to poll.  The ``NETLINK_SOCK_DIAG`` interface (``inet_diag``, see
``man 7 sock_diag``) answers a request for one socket, named by its local
and remote address and port, with that socket alone (:func:`find`): its
state, its receive and send queue lengths and its inode.  A dump of the
LISTEN sockets reads only the small table of listeners: each listener's
accept queue length (:func:`accept_backlog`), and with the bound UDP
sockets, what a server serves on (:func:`bound`, readiness).  Each request
is answered in the network namespace the netlink socket was made in (a
program's own, see ``Program.socket``).  Linux only.
"""

from __future__ import annotations

import errno
import socket
import struct
from dataclasses import dataclass

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 1
NLM_F_DUMP = 0x300
#: TCP states (include/net/tcp_states.h).
TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8
TCP_LISTEN = 10
_HEADER = struct.Struct("=IHHII")            # nlmsghdr: len, type, flags, seq, pid
_REQUEST = struct.Struct("=BBBxI")           # inet_diag_req_v2 head: family, protocol, ext, states
_SOCKID = struct.Struct("!HH16s16s")         # inet_diag_sockid: sport, dport, src, dst (big-endian)
_SOCKID_TAIL = struct.Struct("=III")         # if, cookie[2]
_MESSAGE = struct.Struct("=BBBB48sIIIII")    # inet_diag_msg: family, state, timer, retrans, id,
                                             # expires, rqueue, wqueue, uid, inode
_NO_COOKIE = 0xFFFFFFFF
_ALL_STATES = 0xFFFFFFFF


@dataclass(frozen=True, kw_only=True)
class SocketInfo:
    """A TCP socket as the kernel sees it.

    ``state`` is the kernel's TCP state number (1 = ESTABLISHED, 8 =
    CLOSE_WAIT, see ``include/net/tcp_states.h``); ``unread`` is the bytes
    received and not yet read by the program (``rx_queue``); ``unsent`` the
    bytes written and not yet acknowledged by the peer (``tx_queue``);
    ``inode`` names the socket in ``/proc/PID/fd``.
    """

    state: int
    unread: int
    unsent: int
    inode: int


def _packed(host: str) -> tuple[int, bytes]:
    try:
        return socket.AF_INET, socket.inet_pton(socket.AF_INET, host).ljust(16, b"\0")
    except OSError:
        return socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host)


def find(diag: socket.socket, local: tuple[str, int], remote: tuple[str, int]) -> SocketInfo | None:
    """The TCP socket bound to ``local`` and connected to ``remote`` (host, port) in ``diag``'s
    network namespace, in any state but LISTEN; None when the kernel says there is none
    (ENOENT), or answers with the socket listening on ``local`` (its lookup falls back to
    the listener when no connection matches, as for an arriving segment).

    One exact lookup, not a listing, so a socket that exists is never missed
    while others come and go (a read of ``/proc/net/tcp`` can skip a row
    then).  ``diag`` is a ``NETLINK_SOCK_DIAG`` socket (``AF_NETLINK``,
    ``SOCK_DGRAM``).  Raises OSError when the kernel cannot be asked or its
    answer is not one this function knows; ValueError for addresses of two
    families.
    """
    family, source = _packed(local[0])
    other, destination = _packed(remote[0])
    if family != other:
        raise ValueError(f"{local[0]} and {remote[0]} are addresses of two families")
    body = (_REQUEST.pack(family, socket.IPPROTO_TCP, 0, _ALL_STATES)
            + _SOCKID.pack(local[1], remote[1], source, destination)
            + _SOCKID_TAIL.pack(0, _NO_COOKIE, _NO_COOKIE))
    request = _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0) + body
    diag.sendto(request, (0, 0))
    reply = diag.recv(65536)
    if len(reply) < _HEADER.size:
        raise OSError(errno.EPROTO, "sock_diag: a reply shorter than its header")
    _, kind, _, _, _ = _HEADER.unpack_from(reply)
    if kind == NLMSG_ERROR and len(reply) >= _HEADER.size + 4:
        code = -struct.unpack_from("=i", reply, _HEADER.size)[0]
        if code == errno.ENOENT:
            return None
        raise OSError(code, f"sock_diag: {errno.errorcode.get(code, code)}")
    if kind != SOCK_DIAG_BY_FAMILY or len(reply) < _HEADER.size + _MESSAGE.size:
        raise OSError(errno.EPROTO, f"sock_diag: an answer of type {kind}")
    _, state, _, _, _, _, unread, unsent, _, inode = _MESSAGE.unpack_from(reply, _HEADER.size)
    if state == TCP_LISTEN:  # no connection matched: the kernel's lookup fell back to the
        return None          # listener on that port (inet_lookup), which is not the one asked for
    return SocketInfo(state=state, unread=unread, unsent=unsent, inode=inode)


def lookup(local: tuple[str, int], remote: tuple[str, int]) -> SocketInfo | None:
    """The TCP socket bound to ``local`` and connected to ``remote`` (host, port), or None.

    None when no such socket exists in this network namespace, when the two
    addresses are of different families, or when sock_diag is unavailable
    (:func:`find` tells these apart).
    """
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(1.0)
            return find(nl, local, remote)
    except (OSError, ValueError, AttributeError):
        return None


@dataclass(frozen=True, kw_only=True)
class Listed:
    """One socket of a sock_diag dump: kernel ``state`` number, local ``host`` (text, IPv4 or
    IPv6) and ``port``, ``unread`` bytes (for a listener: connections waiting to be
    accepted) and ``inode`` (names the socket in ``/proc/PID/fd``)."""

    state: int
    host: str
    port: int
    unread: int
    inode: int


def dump(diag: socket.socket, family: int, protocol: int, states: int) -> list[Listed]:
    """Every ``protocol`` (IPPROTO_TCP or IPPROTO_UDP) socket of ``family`` in ``diag``'s
    network namespace whose state is in the bit mask ``states`` (``1 << state``).

    A dump of TCP listeners only (``1 << TCP_LISTEN``) reads the kernel's small table of
    listeners, not the table of every connection that ``/proc/net/tcp`` and any other TCP
    dump walk (262,144 buckets on a 24 GiB machine: about 6 ms of kernel time a read, more
    for ``tcp6``).  Raises OSError when the kernel cannot be asked or its answer is not one
    this function knows.
    """
    body = (_REQUEST.pack(family, protocol, 0, states)
            + _SOCKID.pack(0, 0, b"\0" * 16, b"\0" * 16)
            + _SOCKID_TAIL.pack(0, _NO_COOKIE, _NO_COOKIE))
    request = _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY,
                           NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body
    diag.sendto(request, (0, 0))
    found: list[Listed] = []
    while True:
        reply = diag.recv(65536)
        offset = 0
        while offset + _HEADER.size <= len(reply):
            length, kind, _, _, _ = _HEADER.unpack_from(reply, offset)
            if kind == NLMSG_DONE:
                return found
            if kind == NLMSG_ERROR or length < _HEADER.size:
                raise OSError(errno.EPROTO, f"sock_diag: a dump answered with type {kind}")
            if kind == SOCK_DIAG_BY_FAMILY and length >= _HEADER.size + _MESSAGE.size:
                (got, state, _, _, sockid, _, unread, _, _,
                 inode) = _MESSAGE.unpack_from(reply, offset + _HEADER.size)
                port, _, source, _ = _SOCKID.unpack_from(sockid)
                host = (socket.inet_ntop(socket.AF_INET, source[:4]) if got == socket.AF_INET
                        else socket.inet_ntop(socket.AF_INET6, source))
                found.append(Listed(state=state, host=host, port=port,
                                    unread=unread, inode=inode))
            offset += (length + 3) & ~3
        if offset == 0:
            raise OSError(errno.EPROTO, "sock_diag: a reply without one whole message")


def accept_backlog(diag: socket.socket, port: int) -> int | None:
    """Connections waiting to be accepted on the TCP listeners of ``port`` (IPv4 and IPv6) in
    ``diag``'s network namespace; None when the kernel cannot be asked.

    ``diag`` is a ``NETLINK_SOCK_DIAG`` socket (``AF_NETLINK``, ``SOCK_DGRAM``).
    """
    try:
        return sum(listed.unread
                   for family in (socket.AF_INET, socket.AF_INET6)
                   for listed in dump(diag, family, socket.IPPROTO_TCP, 1 << TCP_LISTEN)
                   if listed.port == port)
    except OSError:
        return None


def unfinished(diag: socket.socket, port: int) -> int | None:
    """Connections on local ``port`` (IPv4 and IPv6) in ``diag``'s network namespace that are
    still ESTABLISHED; None when the kernel cannot be asked.

    After a client closed its end, the server's end stays ESTABLISHED until the client's FIN
    has reached it (then CLOSE_WAIT, or gone once the server closed too); on a loaded machine
    the kernel may hand that FIN on later than the close, from its softirq thread.  This dump
    walks the table of connections (see :func:`dump`), so it is asked rarely.
    """
    try:
        return sum(1 for family in (socket.AF_INET, socket.AF_INET6)
                   for listed in dump(diag, family, socket.IPPROTO_TCP, 1 << TCP_ESTABLISHED)
                   if listed.port == port)
    except OSError:
        return None


def bound(diag: socket.socket) -> list[Listed]:
    """The TCP listeners and the bound, unconnected UDP sockets of ``diag``'s network
    namespace, IPv4 and IPv6: what a server has to serve on (readiness).

    An unconnected UDP socket is in state TCP_CLOSE, as ``/proc/net/udp`` shows it; a
    connected one (a client's) is not listed.  Raises OSError when the kernel cannot be asked.
    """
    return [listed
            for protocol, state in ((socket.IPPROTO_TCP, TCP_LISTEN), (socket.IPPROTO_UDP, TCP_CLOSE))
            for family in (socket.AF_INET, socket.AF_INET6)
            for listed in dump(diag, family, protocol, 1 << state)]
