"""The grader's UDP peer: deadline-bound datagram operations that end in typed events.

Theory of operation: a :class:`UdpPeer` owns one non-blocking datagram
socket.  Sending and receiving wait on the socket's real readiness with a
selector until an absolute deadline (``time.monotonic()`` seconds), so no
probe sleeps and none can hang.  Each receive returns one whole datagram
with the address it came from, or the event that ended the wait:
:class:`~grader.events.Timeout`; :class:`~grader.events.Overflow` when the
datagram was larger than the cap (the kernel truncated it, seen through
``MSG_TRUNC``); :class:`~grader.events.Reset` when the socket is connected
and an ICMP port-unreachable came back (nothing is bound there any more:
Linux reports it as ``ECONNREFUSED`` on the next call, RFC 1122 section
4.1.3.3).  A connected peer only receives datagrams from the server's own
address; an unconnected one receives from anywhere and reports the source,
to tell a reply from a wrong socket apart from no reply.

UDP has no connection, so there is nothing to accept: a server is ready
when its socket is bound (the runner observes that), and answering is
proven by a datagram answered.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from grader.events import Done, Event, Overflow, Reset, Timeout
from grader.net import Stretch

#: The largest UDP payload over IPv4: 65,535 - 8 (UDP header) - 20 (IP header).
MAX_DATAGRAM = 65507
#: Default receive cap: anything larger than an IPv4 datagram can be is truncation.
DEFAULT_CAP = 65536
_REFUSED = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}


@dataclass(frozen=True, kw_only=True)
class DatagramResult:
    """One receive: the datagram's ``data`` and ``source`` (``(host, port)``) when ``end`` is
    :class:`Done`; empty data and no source otherwise.  ``elapsed`` is in seconds."""

    data: bytes
    source: tuple[str, int] | None
    end: Event
    elapsed: float

    @property
    def complete(self) -> bool:
        """True when a whole datagram arrived."""
        return isinstance(self.end, Done)


class UdpPeer:
    """A datagram socket talking to ``server`` (``(host, port)``).

    ``connected`` connects the socket (only the server's datagrams arrive;
    ICMP errors become :class:`Reset`); ``rcvbuf`` (bytes) enlarges the
    receive buffer for bursts (the kernel may cap it at ``rmem_max``);
    ``opener`` makes the socket (in the server's network namespace).  Use
    as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, server: tuple[str, int], *, connected: bool = True, rcvbuf: int | None = None,
        opener: Callable[[int, int], socket.socket] = socket.socket,
    ) -> None:
        self.server = server
        self.connected = connected
        self.sock = opener(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if rcvbuf is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if connected:
                self.sock.connect(server)
            else:
                self.sock.bind(("0.0.0.0", 0))
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.sock, selectors.EVENT_READ)
        self.closed = False
        #: As :attr:`grader.net.Conn.patience`: made when a receive's deadline passes, it says
        #: at each look whether the server is still owed time (starved of CPU); None: a
        #: receive ends at its deadline.
        self.patience: Callable[[], Callable[[], bool]] | None = None

    @property
    def local(self) -> tuple[str, int]:
        """The peer's own address (where replies must go)."""
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def send(self, data: bytes, *, deadline: float) -> Event:
        """Send ``data`` as one datagram to the server.

        Returns :class:`Done`, :class:`Reset` (an earlier datagram drew an
        ICMP port-unreachable: nothing is bound there) or :class:`Timeout`
        (the send buffer stayed full).  Raises OSError for a datagram the
        kernel refuses (larger than :data:`MAX_DATAGRAM`).
        """
        started = time.monotonic()
        while True:
            try:
                if self.connected:
                    self.sock.send(data)
                else:
                    self.sock.sendto(data, self.server)
                return Done()
            except BlockingIOError:
                pass
            except OSError as exc:
                if exc.errno in _REFUSED:
                    return Reset(error=f"ICMP unreachable: {exc.strerror}")
                raise
            if not self._wait(selectors.EVENT_WRITE, deadline):
                return Timeout(after=time.monotonic() - started)

    def receive(self, *, deadline: float, cap: int = DEFAULT_CAP,
                patient: bool = True) -> DatagramResult:
        """Receive one datagram before ``deadline``; ``cap`` is the largest size accepted.
        Past the deadline the wait goes on while :attr:`patience` says the server is owed
        time (unless ``patient`` is False: a look at what is already queued)."""
        started = time.monotonic()
        stretch = Stretch(self.patience if patient else None)
        while True:
            try:
                data, _, flags, source = self.sock.recvmsg(cap)
            except BlockingIOError:
                if not self._wait(selectors.EVENT_READ, deadline):
                    if (later := stretch.further()) is not None:
                        deadline = later
                        continue
                    return self._end(Timeout(after=time.monotonic() - started), started)
                continue
            except OSError as exc:
                if exc.errno in _REFUSED:
                    return self._end(Reset(error=f"ICMP unreachable: {exc.strerror}"), started)
                raise
            where = (str(source[0]), int(source[1]))
            if flags & socket.MSG_TRUNC:
                return DatagramResult(data=data, source=where, end=Overflow(cap=cap),
                                      elapsed=time.monotonic() - started)
            return DatagramResult(data=data, source=where, end=Done(), elapsed=time.monotonic() - started)

    def drain(self, *, cap: int = DEFAULT_CAP) -> list[DatagramResult]:
        """Every whole datagram already queued on the socket, without waiting."""
        out = []
        while (result := self.receive(deadline=0.0, cap=cap, patient=False)).complete or isinstance(
                result.end, Overflow):
            out.append(result)
        return out

    def close(self) -> None:
        """Release the socket; idempotent."""
        if not self.closed:
            self.closed = True
            self._selector.close()
            self.sock.close()

    def __enter__(self) -> UdpPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _end(self, event: Event, started: float) -> DatagramResult:
        return DatagramResult(data=b"", source=None, end=event, elapsed=time.monotonic() - started)

    def _wait(self, mask: int, deadline: float) -> bool:
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return False
        self._selector.modify(self.sock, mask)
        try:
            return bool(self._selector.select(timeout))
        finally:
            self._selector.modify(self.sock, selectors.EVENT_READ)
