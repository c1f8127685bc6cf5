"""Deadline-bound, capped socket operations that end in typed events.

Theory of operation: a :class:`Conn` wraps one non-blocking TCP socket.
Every operation takes an absolute ``deadline`` (``time.monotonic()`` seconds)
and waits on the socket's real readiness with ``poll(2)`` until then, so no
probe ever sleeps to wait for the submission and none can hang.  (A poll
object holds no kernel resource, unlike an epoll selector: a probe holding
a thousand connections holds a thousand sockets, not two thousand fds, and
a connection costs no epoll set to make and close.)  Every read
is capped: a submission that answers with an endless stream ends the read
with :class:`~grader.events.Overflow` instead of exhausting memory.  Reads
and writes can run interleaved (:meth:`Conn.exchange`) so a large transfer
never deadlocks a correct echo server whose send buffer fills up.

Bytes received beyond what an operation asked for are kept for the next read.

A deadline judges the peer only once it has had the CPU to meet it: a
connection may carry a ``patience`` (the probe context sets it, as it alone
knows the peer's process), and past a read's deadline, or an exchange's idle
time, the wait goes on in :data:`PATIENCE_STEP` steps while it says the peer is
still owed time (:class:`Stretch`; bounded by the patience itself).
"""

from __future__ import annotations

import contextlib
import errno
import math
import random
import select
import selectors
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.events import Closed, Done, Event, Overflow, Reset, Timeout

#: Default cap on what one read operation accepts, in bytes.
DEFAULT_READ_CAP = 16 * 1024 * 1024
_RECV_SIZE = 256 * 1024
#: :meth:`Conn.exchange` ``hold``: longest wait before one read, in all, and the sampling
#: period, in seconds.
HOLD_STEP = 0.05
HOLD_TOTAL = 3.0
HOLD_POLL = 0.0005
#: Seconds between two asks whether a peer is still owed time past a read's deadline
#: (:attr:`Conn.patience`): ``/proc`` gives no event to wait on.
PATIENCE_STEP = 0.05
# ENOTCONN: shutdown() on a connection the peer has already reset.
#: TCP states (include/net/tcp_states.h) after the peer's FIN: CLOSE_WAIT, LAST_ACK.
_PEER_CLOSED_STATES = {8, 9}
_RESET_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ECONNREFUSED,
                 errno.ENOTCONN}


class Stretch:
    """One read's deadline, stretched while the peer is owed time (:attr:`Conn.patience`).

    ``patience`` (None: never stretched) is called when the deadline first passes; the
    function it returns is asked at each :data:`PATIENCE_STEP` after that.  Once it says
    no after saying yes, the read gets one step more and the peer one more look: what it
    sent just before it was seen at rest may still be on its way, and one look can catch
    a runnable thread between two steps (a page fault); owed again, the stretch goes on.
    """

    def __init__(self, patience: Callable[[], Callable[[], bool]] | None) -> None:
        self._patience = patience
        self._owed: Callable[[], bool] | None = None
        self._stretched = False
        self._at_rest = False  # seen at rest once since it was last owed time

    def further(self) -> float | None:
        """Called when the read's deadline has passed: its new deadline (``time.monotonic()``
        seconds), or None when it ends now."""
        if self._patience is None:
            return None
        if self._owed is None:
            self._owed = self._patience()
        if self._owed():
            self._stretched, self._at_rest = True, False
            return time.monotonic() + PATIENCE_STEP
        if self._stretched and not self._at_rest:
            self._at_rest = True
            return time.monotonic() + PATIENCE_STEP
        self._patience = None  # at rest on two looks in a row, or never owed: the end
        return None


class ConnectFailed(Exception):
    """Connecting failed; ``event`` is a :class:`Reset` (refused) or :class:`Timeout`."""

    def __init__(self, event: Event) -> None:
        super().__init__(event.describe())
        self.event = event


@dataclass(frozen=True, kw_only=True)
class ReadResult:
    """What a read returned: ``data`` (bytes) and the ``end`` event that stopped it.

    ``end`` is :class:`Done` when the read's condition was met.  ``elapsed`` is
    in seconds.
    """

    data: bytes
    end: Event
    elapsed: float

    @property
    def complete(self) -> bool:
        """True when the read's condition was met."""
        return isinstance(self.end, Done)


@dataclass(frozen=True, kw_only=True)
class ExchangeResult:
    """Outcome of :meth:`Conn.exchange`: bytes sent, how sending ended, and the read."""

    sent: int
    send_end: Event
    read: ReadResult


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


#: Makes a socket: ``(family, kind) -> socket``; e.g. :meth:`grader.launch.base.Program.socket`.
Opener = Callable[[int, int], socket.socket]


def connect(
    host: str, port: int, *, timeout: float, nodelay: bool = False, rcvbuf: int | None = None,
    opener: Opener = socket.socket,
) -> Conn:
    """Open a TCP connection to ``(host, port)`` within ``timeout`` seconds.

    ``rcvbuf`` (bytes) sets the receive buffer before connecting (see
    :func:`set_rcvbuf`): small, to make the peer feel backpressure sooner;
    large, so it never does.  ``opener`` makes the socket (in the program's
    network namespace, when it has one of its own).

    Raises :class:`ConnectFailed` carrying a :class:`Reset` (refused, or reset
    during the handshake) or a :class:`Timeout`.
    """
    started = time.monotonic()
    sock = opener(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        set_rcvbuf(sock, rcvbuf)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
    except TimeoutError:
        sock.close()
        raise ConnectFailed(Timeout(after=time.monotonic() - started)) from None
    except OSError as exc:
        sock.close()
        raise ConnectFailed(Reset(error=str(exc))) from None
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Conn(sock, reset_after_peer_fin=True)


#: ``SO_RCVBUFFORCE`` (asm-generic/socket.h; not in Python's socket module): SO_RCVBUF past
#: ``net.core.rmem_max``, for a process with CAP_NET_ADMIN.
SO_RCVBUFFORCE = 33


def set_rcvbuf(sock: socket.socket, size: int) -> None:
    """Ask for a ``size``-byte receive buffer (bytes; the kernel doubles it for bookkeeping).

    Set before connecting, it also sets the window scale offered in the SYN
    (RFC 7323 section 2.2), so a large buffer is a large window.  Beyond
    ``net.core.rmem_max`` only a privileged process (root) gets what it asks
    (``SO_RCVBUFFORCE``); any other gets the capped ``SO_RCVBUF``.
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


class Conn:
    """One TCP connection with deadline-bound, event-returning operations.

    ``sock`` must be connected; it is switched to non-blocking mode.  The
    object owns the socket: :meth:`close` or :meth:`abort` releases it.
    ``reset_after_peer_fin`` (the grader's connections to a server under
    test) makes :meth:`close` an RST once the server has closed; a
    connection the grader accepted (it plays the server) always closes with FIN.
    """

    #: How long a read's deadline may be stretched for a peer that has not had the CPU (set by
    #: whoever knows the peer's process, :meth:`grader.context.ProbeContext.connect` and
    #: ``accept``): called once when a read's deadline passes, it returns a function asked at
    #: each :data:`PATIENCE_STEP` whether the peer is still owed time; while it is, the read
    #: goes on.  That function may raise (ProbeError) to say the peer stayed starved.  None:
    #: a read ends at its deadline.
    patience: Callable[[], Callable[[], bool]] | None = None

    def __init__(self, sock: socket.socket, *, reset_after_peer_fin: bool = False) -> None:
        sock.setblocking(False)
        self.sock = sock
        self._reset_after_peer_fin = reset_after_peer_fin
        self._rx = bytearray()
        self._eof = False
        self.closed = False
        self._poller = select.poll()

    # -- writing ---------------------------------------------------------

    def send_all(
        self,
        data: bytes,
        *,
        deadline: float,
        chunks: Iterable[int] | None = None,
        gap: float = 0.0,
        pace: Callable[[], bool] | None = None,
    ) -> Event:
        """Send every byte of ``data`` before ``deadline``.

        ``chunks`` (sizes in bytes) splits the data into separate writes, with
        ``gap`` seconds between them (TCP_NODELAY should be set on the socket
        for the split to reach the wire).  ``pace``, when given, is called
        between two writes, before the gap: it waits until the peer has read
        what was sent (so each of its reads returns one piece, however loaded
        the machine), and returns False once it gave up waiting; it is not
        called again.  The gap stays a floor: a ``pace`` that cannot see the
        peer (and so returns at once) leaves the old stimulus.  Returns
        :class:`Done`, :class:`Reset` or :class:`Timeout`.
        """
        started = time.monotonic()
        view = memoryview(data)
        pieces = list(_split(len(data), chunks))
        for index, (start, end) in enumerate(pieces):
            piece = view[start:end]
            while piece:
                try:
                    sent = self._send(piece)
                    piece = piece[sent:]
                    continue
                except BlockingIOError:
                    pass
                except OSError as exc:
                    return reset_or_raise(exc)
                if not self._wait(selectors.EVENT_WRITE, deadline):
                    return Timeout(after=time.monotonic() - started)
            if index + 1 < len(pieces):
                if pace is not None and not pace():
                    pace = None  # it gave up waiting: not asked again
                if gap:
                    time.sleep(gap)  # the stimulus pattern itself, not a readiness wait
        return Done()

    def push(self, data: bytes, *, deadline: float, idle: float,
             busy: Callable[[], bool] | None = None, patience: float = 2.0) -> tuple[int, Event]:
        """Write ``data`` without reading until it is all sent, ``deadline`` passes, or the
        peer takes nothing for ``idle`` seconds (its window is closed).

        ``busy`` (optional) tells whether the peer still has work to do rather
        than being blocked or spinning on work of its own (e.g.
        :meth:`grader.launch.base.BusyWatch.owed`): while it has, a stall
        is not yet idleness (a peer starved of CPU on a loaded machine has not
        stopped reading), up to ``patience`` seconds without progress.  Returns
        the bytes sent and how writing ended (:class:`Done`, :class:`Timeout`
        or :class:`Reset`).
        """
        view = memoryview(data)
        sent = 0
        moved = still = time.monotonic()
        while sent < len(data):
            try:
                sent += self._send(view[sent : sent + 256 * 1024])
                moved = still = time.monotonic()
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                return sent, reset_or_raise(exc)
            if self._wait(selectors.EVENT_WRITE, min(deadline, still + idle)):
                continue
            now = time.monotonic()
            if busy is not None and now < min(deadline, moved + patience) and busy():
                still = now  # running, not blocked: wait another idle period
                continue
            return sent, Timeout(after=now - moved)
        return sent, Done()

    def shutdown_write(self) -> Event:
        """Half-close: send FIN (``SHUT_WR``); reading stays possible."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            return reset_or_raise(exc)
        return Done()

    # -- reading ---------------------------------------------------------

    def read_exactly(self, n: int, *, deadline: float) -> ReadResult:
        """Read exactly ``n`` bytes; ends ``Done``, ``Closed``, ``Reset`` or ``Timeout``."""
        return self._read(lambda buf: n if len(buf) >= n else None, deadline=deadline, cap=n)

    def read_until(
        self, terminator: bytes, *, deadline: float, cap: int = DEFAULT_READ_CAP
    ) -> ReadResult:
        """Read up to and including ``terminator``; more than ``cap`` bytes ends ``Overflow``."""

        def found(buf: bytearray) -> int | None:
            at = buf.find(terminator)
            return None if at < 0 else at + len(terminator)

        return self._read(found, deadline=deadline, cap=cap)

    def read_to_eof(self, *, deadline: float, cap: int = DEFAULT_READ_CAP) -> ReadResult:
        """Read until the peer's FIN; the result ends ``Closed`` when EOF was seen."""
        return self._read(lambda buf: None, deadline=deadline, cap=cap)

    def read_some(self, *, deadline: float, cap: int = DEFAULT_READ_CAP) -> ReadResult:
        """Read whatever arrives first (at least one byte), or how the wait ended."""
        return self._read(lambda buf: len(buf) if buf else None, deadline=deadline, cap=cap)

    def read_for(self, seconds: float, *, cap: int = DEFAULT_READ_CAP) -> ReadResult:
        """Collect whatever arrives during ``seconds``; ``Timeout`` is the normal end (an
        observation window: never stretched by :attr:`patience`)."""
        return self._read(lambda buf: None, deadline=time.monotonic() + seconds, cap=cap,
                          patient=False)

    def _take(self, count: int) -> bytes:
        """The first ``count`` received bytes, removed from the buffer (one copy: a slice of
        the buffer would copy them twice, 16 MiB of a large echo included)."""
        with memoryview(self._rx) as view:
            data = bytes(view[:count])
        del self._rx[:count]
        return data

    def _read(
        self, want: Callable[[bytearray], int | None], *, deadline: float, cap: int,
        patient: bool = True,
    ) -> ReadResult:
        started = time.monotonic()
        stretch = Stretch(self.patience if patient else None)
        while True:
            take = want(self._rx)
            if take is not None:
                data = self._take(take)
                return ReadResult(data=data, end=Done(), elapsed=time.monotonic() - started)
            if len(self._rx) > cap:
                return self._drain(Overflow(cap=cap), started)
            if self._eof:
                return self._drain(Closed(), started)
            try:
                chunk = self._recv(_RECV_SIZE)
            except BlockingIOError:
                if not self._wait(selectors.EVENT_READ, deadline):
                    # the deadline passed: it holds only once the peer has had the CPU
                    if (later := stretch.further()) is not None:
                        deadline = later
                        continue
                    return self._drain(Timeout(after=time.monotonic() - started), started)
                continue
            except OSError as exc:
                return self._drain(reset_or_raise(exc), started)
            if chunk:
                self._rx += chunk
            else:
                self._eof = True

    def _drain(self, end: Event, started: float) -> ReadResult:
        data = bytes(self._rx)
        self._rx.clear()
        return ReadResult(data=data, end=end, elapsed=time.monotonic() - started)

    # -- both ------------------------------------------------------------

    def exchange(
        self,
        payload: bytes,
        *,
        expect: int,
        deadline: float,
        chunk: int = 64 * 1024,
        idle: float | None = None,
        write_first: bool = False,
        half_close: bool = False,
        start: int = 0,
        hold: Callable[[], bool] | None = None,
    ) -> ExchangeResult:
        """Write ``payload`` while reading until ``expect`` bytes came back.

        Reading and writing share one selector, so a peer that echoes as it
        reads never deadlocks with us on full buffers.  With ``write_first``
        the grader reads only when it cannot write, which keeps the peer's
        send buffer full (backpressure) without ever blocking it for good.
        ``chunk`` is the write size in bytes; reads are capped at ``expect``
        bytes; ``idle`` (seconds) ends the exchange early with Timeout when
        no byte moves in either direction for that long, and the peer has had
        the CPU since (:attr:`patience`, as for a read).  With ``half_close``
        the grader sends FIN (``SHUT_WR``) once the whole payload is written
        (a request that the peer answers only after the half-close).  ``start``
        bytes of the payload were already sent (e.g. by :meth:`push`).

        ``hold`` (with ``write_first``) tells whether the peer has work to do
        but has not run yet (e.g. :meth:`grader.launch.base.BusyWatch.owed`): before
        each read the grader waits, up to :data:`HOLD_STEP` seconds and
        :data:`HOLD_TOTAL` in all, until it has run.  So a peer woken because
        its send buffer has room finds only the room the grader made since it
        last ran, whatever the machine's load: a ``send()`` that takes only
        part of its buffer shows, instead of meeting a buffer drained while
        the peer waited for a CPU.
        """
        started = time.monotonic()
        view = memoryview(payload)
        offset = start
        send_end: Event = Done() if not payload else Timeout(after=0.0)
        progress = started
        stretched_to = 0.0  # past the idle time, while the peer is owed time (Conn.patience)

        def stop_at() -> float:
            return deadline if idle is None else min(deadline, max(progress + idle, stretched_to))

        shut = False
        held = 0.0
        stretch: Stretch | None = None  # made when the idle time first passes without progress
        while len(self._rx) < expect and not self._eof:
            if half_close and not shut and offset >= len(payload):
                shut = True
                if isinstance(shutdown := self.shutdown_write(), Reset):
                    send_end = shutdown
            events = selectors.EVENT_READ
            if offset < len(payload):
                events |= selectors.EVENT_WRITE
            ready = self._wait_mask(events, stop_at())
            if ready is None and time.monotonic() < deadline:
                # idle: it holds only once the peer has had the CPU (Conn.patience)
                stretch = stretch or Stretch(self.patience)
                if (later := stretch.further()) is not None:
                    stretched_to = later
                    continue
            if ready is None:
                if offset < len(payload):
                    send_end = Timeout(after=time.monotonic() - started)
                return ExchangeResult(
                    sent=offset,
                    send_end=send_end,
                    read=self._drain(Timeout(after=time.monotonic() - started), started),
                )
            wrote = False
            if ready & selectors.EVENT_WRITE and offset < len(payload):
                try:
                    offset += self._send(view[offset : offset + chunk])
                    wrote = True
                    progress = time.monotonic()
                    stretch = None
                    if offset == len(payload):
                        send_end = Done()
                except BlockingIOError:
                    pass
                except OSError as exc:
                    send_end = reset_or_raise(exc)
                    offset = len(payload)  # stop writing, keep reading what is there
            if ready & selectors.EVENT_READ and not (write_first and wrote):
                if hold is not None and write_first and held < HOLD_TOTAL:
                    held += _hold(hold, min(stop_at(), time.monotonic() + HOLD_STEP))
                try:
                    data = self._recv(_RECV_SIZE)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    return ExchangeResult(
                        sent=offset, send_end=send_end, read=self._drain(reset_or_raise(exc), started)
                    )
                progress = time.monotonic()
                stretch = None
                if data:
                    self._rx += data
                else:
                    self._eof = True
        if half_close and not shut and offset >= len(payload):
            self.shutdown_write()  # nothing was left to wait for (e.g. an empty payload)
        if len(self._rx) >= expect:
            data = self._take(expect)
            read = ReadResult(data=data, end=Done(), elapsed=time.monotonic() - started)
        else:
            read = self._drain(Closed(), started)
        return ExchangeResult(sent=offset, send_end=send_end, read=read)

    # -- closing ---------------------------------------------------------

    def close(self) -> None:
        """Close: FIN while the server is still open, RST once it has sent its FIN.

        The side that sends the first FIN keeps the connection in TIME_WAIT for a
        minute (RFC 9293 section 3.6.1), on its own port.  When the server closed
        first, answering its FIN with ours would leave that on the server's port,
        and a server without SO_REUSEADDR pinned to it could not bind it again
        after a restart; an RST ends the connection on both sides at once
        (RFC 9293 section 3.10.7).  While the peer is still open the grader's
        FIN goes first, and TIME_WAIT stays on the grader's own ephemeral port.
        (RST also replaces the FIN when unread data is pending, RFC 1122 4.2.2.13.)
        """
        if not self.closed:
            if self._reset_after_peer_fin and self.peer_closed():
                with contextlib.suppress(OSError):
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.closed = True
            self.sock.close()

    def detach(self) -> socket.socket:
        """Give up the socket without closing it (e.g. to a TLS layer, :mod:`grader.tls`).

        Bytes already read and kept for the next read are dropped: detach before reading.
        """
        self.closed = True
        return self.sock

    def peer_closed(self) -> bool:
        """True once the peer's FIN arrived (read as EOF, or waiting: TCP state CLOSE_WAIT)."""
        if self._eof:
            return True
        try:
            info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        except OSError:
            return False
        return bool(info) and info[0] in _PEER_CLOSED_STATES

    def abort(self) -> None:
        """Close abortively: ``SO_LINGER`` with a zero timeout makes the kernel send RST."""
        if not self.closed:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------

    def _send(self, data: memoryview) -> int:
        """The transport's send: bytes of ``data`` taken (BlockingIOError: none now; OSError).

        A subclass carrying another protocol over the socket (TLS,
        :class:`grader.tls.TlsConn`) replaces this and :meth:`_recv`; every
        operation above is written on these two.
        """
        return self.sock.send(data)

    def _recv(self, size: int) -> bytes:
        """The transport's receive: at most ``size`` bytes, b"" at EOF (BlockingIOError: none now)."""
        return self.sock.recv(size)

    def _wait(self, mask: int, deadline: float) -> bool:
        return self._wait_mask(mask, deadline) is not None

    def _wait_mask(self, mask: int, deadline: float) -> int | None:
        timeout = _remaining(deadline)
        if timeout <= 0:
            return None
        wanted = ((select.POLLIN if mask & selectors.EVENT_READ else 0)
                  | (select.POLLOUT if mask & selectors.EVENT_WRITE else 0))
        self._poller.register(self.sock, wanted)
        try:
            ready = self._poller.poll(math.ceil(timeout * 1000))
        finally:
            self._poller.unregister(self.sock)
        if not ready:
            return None
        got = 0
        for _fd, event in ready:  # as selectors reads poll: an error or hang-up is both
            if event & ~select.POLLIN:
                got |= selectors.EVENT_WRITE
            if event & ~select.POLLOUT:
                got |= selectors.EVENT_READ
        return got & mask


def _hold(busy: Callable[[], bool], until: float) -> float:
    """Wait while ``busy()`` until ``until`` (monotonic seconds); the seconds waited.

    ``busy`` observes the peer process (``/proc``), which gives no event to
    wait on: it is sampled every :data:`HOLD_POLL` seconds, within the bound.
    """
    started = time.monotonic()
    while busy() and time.monotonic() < until:
        time.sleep(HOLD_POLL)
    return time.monotonic() - started


def _split(total: int, chunks: Iterable[int] | None) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` slices of ``total`` bytes by the sizes in ``chunks``."""
    if chunks is None:
        if total:
            yield (0, total)
        return
    start = 0
    for size in chunks:
        if start >= total:
            return
        end = min(total, start + max(1, size))
        yield (start, end)
        start = end
    if start < total:
        yield (start, total)


def reset_or_raise(exc: OSError) -> Event:
    """The :class:`Reset` a peer's reset or refusal caused; any other OSError is the grader's
    or the machine's fault and is raised again (the probe then ends as ``error``)."""
    if exc.errno in _RESET_ERRNOS or isinstance(exc, ConnectionError):
        return Reset(error=str(exc))
    raise exc


@contextlib.contextmanager
def refusing_port(host: str = "127.0.0.1") -> Iterator[int]:
    """Yield a TCP port on ``host`` where a connect is refused (RST), for as long as the block runs.

    The port is held by a socket that is bound but never listens: a SYN to it
    gets a reset (ECONNREFUSED), and no other socket can bind the port
    meanwhile, so a concurrent grading cannot start listening there (unlike
    :func:`free_port`, whose port is free only when returned).
    Raises OSError when ``host`` cannot be bound.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind((host, 0))
        yield int(holder.getsockname()[1])


#: Grader-chosen server ports are drawn from here when it lies outside the kernel's ephemeral range.
SERVER_PORTS = (20000, 32768)
_port_choice = random.Random()  # which free port a server gets is never an input to a verdict


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (first, last), from /proc; Linux's default when unreadable."""
    try:
        first, last = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(first), int(last)
    except (OSError, ValueError):
        return 32768, 60999


def port_is_free(host: str, port: int) -> bool:
    """True when both a TCP and a UDP socket can bind ``host:port`` now (no SO_REUSEADDR)."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on ``host`` for TCP and UDP, for a server the grader starts.

    Drawn at random from :data:`SERVER_PORTS` when that range lies below the
    kernel's ephemeral range, so no connect() or bind(0) on the machine (the
    grader's own clients included) is handed the port before the server
    binds it; otherwise, or when 64 draws find nothing free, the kernel picks
    one.  Another process may still bind the port first: the runner retries
    such a start on a fresh port (:data:`grader.runner.PORT_ATTEMPTS`).
    Raises OSError when ``host`` cannot be bound at all.
    """
    low, high = SERVER_PORTS
    if high <= ephemeral_range()[0]:
        for _ in range(64):
            port = _port_choice.randrange(low, high)
            if port_is_free(host, port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
