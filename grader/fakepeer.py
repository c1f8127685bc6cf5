"""An in-memory, fault-injecting stand-in for :class:`grader.net.Conn`, for unit tests.

Theory of operation (in the spirit of ``trio.testing``'s memory streams): a
:class:`FakeConn` has the public methods and result types of
:class:`~grader.net.Conn` (checked structurally against :class:`StreamLike`),
but its other end is a scripted :class:`Peer` living in the same object, not
a program behind a socket.  Nothing blocks and nothing sleeps:

* **Writing.**  Every write the grader makes (one piece of
  :meth:`FakeConn.send_all`, one chunk of :meth:`FakeConn.exchange`, ...)
  reaches the peer at once as one "recv", and the peer's ``reply`` function
  turns it into the bytes it sends back.  The peer accepts bytes only while
  it has room (``read_limit``: it stops reading; ``buffer``: its unread
  replies fill the grader's receive window, i.e. backpressure); a write with
  no room left is where a real write would wait.
* **Reading.**  The peer's output is a queue of segments (its writes, cut at
  ``splits``); one "recv" takes one segment, so :meth:`FakeConn.read_some`
  sees the peer's write pattern.  Once the queue is empty, a peer that has
  closed gives EOF (:class:`~grader.events.Closed`), one that has reset gives
  :class:`~grader.events.Reset`, and one that is still open means the read
  would wait.
* **Faults** are positions on the peer's output stream (bytes it sent so
  far): ``stall_after`` (it sends nothing more), ``fin_after`` (it closes),
  ``rst_after`` (it resets); a ``reply`` that raises :class:`PeerCrash` resets
  at once (an unhandled exception in the handler).  ``flood`` makes the peer
  send that pattern forever after its first reply, so reads end with
  :class:`~grader.events.Overflow` at their cap.
* **Time is virtual.**  Where a real operation would wait for the peer, the
  fake returns at once with the :class:`~grader.events.Timeout` the real one
  would have ended with: ``after`` is the time until the deadline (or until
  ``idle`` ran out), measured with the injectable ``now`` clock (default
  ``time.monotonic``, so deadlines made like a probe's work unchanged).  Each
  operation's waiting is local: it is added to :attr:`FakeConn.waited` but
  never moves ``now``, so one timeout does not make later deadlines expire.
  Operations that complete take no virtual time (``elapsed == 0.0``).

The judging code is annotated with ``Conn``; :func:`as_conn` is the (typed)
cast that hands it a fake.  Simplifications against real TCP, on purpose:
bytes in flight arrive before a reset (a kernel may drop them); a peer that
closed absorbs and ignores further writes (a kernel would answer with RST);
the grader's own writes after its half-close end in :class:`Reset` (EPIPE),
as with a real socket.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, cast

from grader.events import Closed, Done, Event, Overflow, Reset, Timeout
from grader.net import DEFAULT_READ_CAP, Conn, ExchangeResult, ReadResult, _split

#: The most one fake "recv" returns, in bytes (as :mod:`grader.net`).
RECV_SIZE = 256 * 1024
#: The error text of a :class:`Reset` seen on a read, and on a write.
RESET_ERROR = "[Errno 104] Connection reset by peer"
PIPE_ERROR = "[Errno 32] Broken pipe"

#: What the peer sends back for one received write: ``bytes -> bytes``.
Reply = Callable[[bytes], bytes]


class StreamLike(Protocol):
    """The public surface of :class:`grader.net.Conn` that probes use (no ``sock``).

    Deadlines are absolute ``time.monotonic()`` seconds; ``idle``, ``gap`` and
    ``seconds`` are durations in seconds; sizes are bytes.
    """

    closed: bool

    def send_all(self, data: bytes, *, deadline: float, chunks: Iterable[int] | None = None,
                 gap: float = 0.0) -> Event: ...

    def push(self, data: bytes, *, deadline: float, idle: float,
             busy: Callable[[], bool] | None = None, patience: float = ...) -> tuple[int, Event]: ...

    def shutdown_write(self) -> Event: ...

    def read_exactly(self, n: int, *, deadline: float) -> ReadResult: ...

    def read_until(self, terminator: bytes, *, deadline: float, cap: int = ...) -> ReadResult: ...

    def read_to_eof(self, *, deadline: float, cap: int = ...) -> ReadResult: ...

    def read_some(self, *, deadline: float, cap: int = ...) -> ReadResult: ...

    def read_for(self, seconds: float, *, cap: int = ...) -> ReadResult: ...

    def exchange(self, payload: bytes, *, expect: int, deadline: float, chunk: int = ...,
                 idle: float | None = None, write_first: bool = False, half_close: bool = False,
                 start: int = 0, hold: Callable[[], bool] | None = None) -> ExchangeResult: ...

    def close(self) -> None: ...

    def peer_closed(self) -> bool: ...

    def abort(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class PeerCrash(Exception):
    """Raised by a :data:`Reply` function: the peer's handler died, and the peer resets."""


# -- reply functions ------------------------------------------------------------


def echo(data: bytes) -> bytes:
    """A correct echo: the bytes received."""
    return data


def upper(data: bytes) -> bytes:
    """The upper-case server (docs/labs.md §5), or an echo that changes bytes (same length)."""
    return data.upper()


def silent(data: bytes) -> bytes:
    """Reads and answers nothing."""
    return b""


def add_newline(data: bytes) -> bytes:
    """``print()``-style: the bytes then a newline."""
    return data + b"\n"


def strip(data: bytes) -> bytes:
    """``.strip()`` on every message."""
    return data.strip()


def keep(n: int) -> Reply:
    """Answers only the first ``n`` bytes of each write, dropping the rest (``send()`` not
    ``sendall()``, or one ``recv(n)``)."""
    return lambda data: data[:n]


def decode_and_crash(data: bytes) -> bytes:
    """Decodes as strict UTF-8 and echoes; crashes (:class:`PeerCrash`) on other bytes."""
    try:
        return data.decode("utf-8").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise PeerCrash(str(exc)) from None


# -- the peer ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Peer:
    """The script of the program on the other end.  Every size is in bytes.

    ``reply`` answers each received write.  ``on_eof`` (None: nothing) gets
    everything received when the grader half-closes and returns what to send
    then (a close-framing server); ``close_on_eof`` closes (FIN) after it.
    ``splits``: the sizes each of the peer's writes is cut into, the rest in
    one piece (as ``Conn.send_all``'s ``chunks``).  ``stall_after``,
    ``fin_after``, ``rst_after``: after that many bytes of output the peer
    sends nothing more / closes / resets (0: at once, before any byte).
    ``flood``: a pattern sent forever after the first reply (empty: none).
    ``read_limit``: total bytes the peer reads before it stops reading for
    good (0: it never reads); ``buffer``: bytes of its replies that may wait
    unread by the grader before the peer blocks and stops reading (None:
    unbounded).
    """

    reply: Reply = echo
    on_eof: Reply | None = None
    close_on_eof: bool = True
    splits: Sequence[int] = ()
    stall_after: int | None = None
    fin_after: int | None = None
    rst_after: int | None = None
    flood: bytes = b""
    read_limit: int | None = None
    buffer: int | None = None


class FakeConn:
    """A :class:`grader.net.Conn` look-alike connected to a scripted :class:`Peer`.

    ``now`` is the clock deadlines are measured on (seconds); pass a constant
    (``lambda: 0.0``) for exact ``Timeout.after`` values.  ``reset_after_peer_fin``
    is as in ``Conn``: :meth:`close` is then an RST once the peer has closed.

    For assertions: :attr:`received` (every byte the peer read), :attr:`writes`
    (each write as the peer received it), :attr:`got_eof` (the grader
    half-closed), :attr:`close_kind` (``"fin"``, ``"rst"`` or None while open)
    and :attr:`waited` (virtual seconds spent waiting, in total).
    """

    def __init__(self, peer: Peer | None = None, *, now: Callable[[], float] = time.monotonic,
                 reset_after_peer_fin: bool = False) -> None:
        self.peer = peer or Peer()
        self.now = now
        self.closed = False
        self.received = bytearray()
        self.writes: list[bytes] = []
        self.got_eof = False
        self.close_kind: str | None = None
        self.waited = 0.0
        self._reset_after_peer_fin = reset_after_peer_fin
        self._rx = bytearray()  # the grader's side: received, not yet returned by a read
        self._eof = False
        self._outbox: deque[bytes] = deque()  # the peer's side: sent, not yet received
        self._produced = 0  # bytes of output the peer has sent so far
        self._end: Closed | Reset | None = None  # how the peer ended, seen after the outbox
        self._reset_seen = False
        self._stalled = False
        self._flooding = False
        self._emit(b"")  # a fault at offset 0 fires before any byte

    # -- the peer ---------------------------------------------------------

    def _emit(self, data: bytes) -> None:
        """The peer sends ``data``, cut by the faults and by ``splits``."""
        if self._end is not None or self._stalled:
            return
        peer = self.peer
        limits = [n for n in (peer.stall_after, peer.fin_after, peer.rst_after) if n is not None]
        limit = min(limits) if limits else None
        if limit is not None:
            data = data[: max(0, limit - self._produced)]
        for start, end in _split(len(data), peer.splits):
            self._outbox.append(data[start:end])
        self._produced += len(data)
        if limit is not None and self._produced >= limit:
            if peer.rst_after == limit:
                self._end = Reset(error=RESET_ERROR)
            elif peer.fin_after == limit:
                self._end = Closed()
            else:
                self._stalled = True

    def _deliver(self, data: bytes) -> None:
        """The peer reads one write of the grader's and answers it."""
        if isinstance(self._end, Closed):
            return  # a closed peer reads nothing more
        self.received += data
        self.writes.append(data)
        try:
            out = self.peer.reply(data)
        except PeerCrash:
            self._end = Reset(error=RESET_ERROR)
            return
        self._emit(out)
        self._flooding = self._flooding or bool(self.peer.flood and data)

    def _room(self) -> int | None:
        """Bytes the peer accepts now (None: any number)."""
        if self._end is not None:
            return None  # a closed peer swallows; a reset one fails the write
        room: int | None = None
        if self.peer.read_limit is not None:
            room = self.peer.read_limit - len(self.received)
        if self.peer.buffer is not None:
            unread = self.peer.buffer - sum(map(len, self._outbox))
            room = unread if room is None else min(room, unread)
        return None if room is None else max(0, room)

    def _writable(self) -> bool:
        return self._room() != 0

    def _write_failed(self) -> Reset | None:
        """The Reset a write ends with now: the peer reset, or the grader half-closed."""
        if isinstance(self._end, Reset) or self._reset_seen or self.got_eof:
            return Reset(error=PIPE_ERROR)
        return None

    def _readable(self) -> bool:
        return bool(self._outbox) or self._end is not None or self._flood_ready()

    def _flood_ready(self) -> bool:
        return self._flooding and self._end is None and not self._stalled

    def _recv(self) -> bytes | Reset | None:
        """One "recv": a segment, ``b""`` at EOF, a Reset, or None (it would wait)."""
        if self._reset_seen:
            return b""  # as Linux: a recv after the ECONNRESET reads EOF
        if not self._outbox and self._flood_ready():
            pattern = self.peer.flood
            self._emit(pattern * max(1, RECV_SIZE // len(pattern)))
        if self._outbox:
            segment = self._outbox.popleft()
            if len(segment) > RECV_SIZE:
                self._outbox.appendleft(segment[RECV_SIZE:])
                segment = segment[:RECV_SIZE]
            return segment
        if isinstance(self._end, Reset):
            self._reset_seen = True
            return self._end
        if isinstance(self._end, Closed):
            return b""
        return None

    def _wait(self, deadline: float, *, spent: float = 0.0, idle: float | None = None) -> float:
        """Wait (virtually) until ``deadline`` or for ``idle`` seconds, whichever is first;
        ``spent`` seconds of this operation already passed.  Returns the operation's elapsed."""
        wait = max(0.0, deadline - self.now() - spent)
        if idle is not None:
            wait = min(wait, idle)
        self.waited += wait
        return spent + wait

    # -- writing ----------------------------------------------------------

    def send_all(self, data: bytes, *, deadline: float, chunks: Iterable[int] | None = None,
                 gap: float = 0.0) -> Event:
        """Deliver ``data`` to the peer, each piece of ``chunks`` (bytes) as one write.

        ``gap`` seconds between pieces pass on the virtual clock.  Returns
        :class:`Done`, :class:`Reset` (the peer reset, or after our half-close)
        or :class:`Timeout` (the peer stopped taking bytes).
        """
        self._check_open()
        spent = 0.0
        pieces = list(_split(len(data), chunks))
        for index, (start, end) in enumerate(pieces):
            piece = data[start:end]
            while piece:
                if failed := self._write_failed():
                    return failed
                room = self._room()
                if room == 0:
                    return Timeout(after=self._wait(deadline, spent=spent))
                take = len(piece) if room is None else min(room, len(piece))
                self._deliver(piece[:take])
                piece = piece[take:]
            if gap and index + 1 < len(pieces):
                spent += gap
                self.waited += gap
        return Done()

    def push(self, data: bytes, *, deadline: float, idle: float,
             busy: Callable[[], bool] | None = None, patience: float = 2.0) -> tuple[int, Event]:
        """Write ``data`` without reading, in writes of up to 256 KiB.

        ``busy`` and ``patience`` are accepted for :meth:`grader.net.Conn.push`'s
        signature; the scripted peer is never starved of CPU, so they change nothing.
        Returns the bytes the peer took and how writing ended: :class:`Done`,
        :class:`Reset`, or :class:`Timeout` after ``idle`` seconds (or at the
        deadline) once the peer takes nothing more.
        """
        self._check_open()
        sent = 0
        while sent < len(data):
            if failed := self._write_failed():
                return sent, failed
            room = self._room()
            if room == 0:
                return sent, Timeout(after=self._wait(deadline, idle=idle))
            take = min(len(data) - sent, RECV_SIZE, room if room is not None else RECV_SIZE)
            self._deliver(data[sent : sent + take])
            sent += take
        return sent, Done()

    def shutdown_write(self) -> Event:
        """Half-close: the peer sees EOF once (``on_eof``, then ``close_on_eof``)."""
        self._check_open()
        if isinstance(self._end, Reset) or self._reset_seen:
            return Reset(error=PIPE_ERROR)
        if not self.got_eof:
            self.got_eof = True
            if self._end is None and self.peer.on_eof is not None:
                try:
                    self._emit(self.peer.on_eof(bytes(self.received)))
                except PeerCrash:
                    self._end = Reset(error=RESET_ERROR)
            if self._end is None and not self._stalled and self.peer.close_on_eof:
                self._end = Closed()
        return Done()

    # -- reading ----------------------------------------------------------

    def read_exactly(self, n: int, *, deadline: float) -> ReadResult:
        """Read exactly ``n`` bytes; ends ``Done``, ``Closed``, ``Reset`` or ``Timeout``."""
        return self._read(lambda buf: n if len(buf) >= n else None, deadline=deadline, cap=n)

    def read_until(self, terminator: bytes, *, deadline: float,
                   cap: int = DEFAULT_READ_CAP) -> ReadResult:
        """Read up to and including ``terminator``; more than ``cap`` bytes ends ``Overflow``."""

        def found(buf: bytearray) -> int | None:
            at = buf.find(terminator)
            return None if at < 0 else at + len(terminator)

        return self._read(found, deadline=deadline, cap=cap)

    def read_to_eof(self, *, deadline: float, cap: int = DEFAULT_READ_CAP) -> ReadResult:
        """Read until the peer's FIN; ends ``Closed`` at EOF."""
        return self._read(lambda buf: None, deadline=deadline, cap=cap)

    def read_some(self, *, deadline: float, cap: int = DEFAULT_READ_CAP) -> ReadResult:
        """Read one of the peer's segments (at least one byte), or how the wait ended."""
        return self._read(lambda buf: len(buf) if buf else None, deadline=deadline, cap=cap)

    def read_for(self, seconds: float, *, cap: int = DEFAULT_READ_CAP) -> ReadResult:
        """Everything the peer has sent; ends ``Timeout`` after ``seconds`` (virtual)."""
        return self._read(lambda buf: None, deadline=self.now() + seconds, cap=cap)

    def _read(self, want: Callable[[bytearray], int | None], *, deadline: float,
              cap: int) -> ReadResult:
        # Conn._read's loop, with _recv for the socket
        self._check_open()
        while True:
            take = want(self._rx)
            if take is not None:
                data = bytes(self._rx[:take])
                del self._rx[:take]
                return ReadResult(data=data, end=Done(), elapsed=0.0)
            if len(self._rx) > cap:
                return self._drain(Overflow(cap=cap), 0.0)
            if self._eof:
                return self._drain(Closed(), 0.0)
            got = self._recv()
            if got is None:
                after = self._wait(deadline)
                return self._drain(Timeout(after=after), after)
            if isinstance(got, Reset):
                return self._drain(got, 0.0)
            if got:
                self._rx += got
            else:
                self._eof = True

    def _drain(self, end: Event, elapsed: float) -> ReadResult:
        data = bytes(self._rx)
        self._rx.clear()
        return ReadResult(data=data, end=end, elapsed=elapsed)

    # -- both -------------------------------------------------------------

    def exchange(self, payload: bytes, *, expect: int, deadline: float, chunk: int = 64 * 1024,
                 idle: float | None = None, write_first: bool = False, half_close: bool = False,
                 start: int = 0, hold: Callable[[], bool] | None = None) -> ExchangeResult:
        """Write ``payload[start:]`` in ``chunk``-byte writes while reading ``expect`` bytes.

        As :meth:`grader.net.Conn.exchange`: with ``write_first`` a read happens
        only in a round without a write; with ``half_close`` the grader
        half-closes once all is written; when nothing can move, the exchange
        ends with Timeout after ``idle`` seconds (or at the deadline).  ``hold``
        is accepted for the signature; the scripted peer runs at once, so it
        changes nothing.
        """
        self._check_open()
        offset = start
        send_end: Event = Done() if not payload else Timeout(after=0.0)
        shut = False
        while len(self._rx) < expect and not self._eof:
            if half_close and not shut and offset >= len(payload):
                shut = True
                if isinstance(shutdown := self.shutdown_write(), Reset):
                    send_end = shutdown
            can_write = offset < len(payload) and (self._write_failed() is not None or self._writable())
            can_read = self._readable()
            if not can_write and not can_read:
                after = self._wait(deadline, idle=idle)
                if offset < len(payload):
                    send_end = Timeout(after=after)
                return ExchangeResult(sent=offset, send_end=send_end,
                                      read=self._drain(Timeout(after=after), after))
            wrote = False
            if can_write:
                if failed := self._write_failed():
                    send_end = failed
                    offset = len(payload)  # stop writing, keep reading what is there
                else:
                    room = self._room()
                    take = min(chunk, len(payload) - offset, room if room is not None else chunk)
                    self._deliver(payload[offset : offset + take])
                    offset += take
                    wrote = True
                    if offset == len(payload):
                        send_end = Done()
            if can_read and not (write_first and wrote):
                got = self._recv()
                if isinstance(got, Reset):
                    return ExchangeResult(sent=offset, send_end=send_end, read=self._drain(got, 0.0))
                if got:
                    self._rx += got
                elif got is not None:
                    self._eof = True
        if half_close and not shut and offset >= len(payload):
            self.shutdown_write()
        if len(self._rx) >= expect:
            data = bytes(self._rx[:expect])
            del self._rx[:expect]
            read = ReadResult(data=data, end=Done(), elapsed=0.0)
        else:
            read = self._drain(Closed(), 0.0)
        return ExchangeResult(sent=offset, send_end=send_end, read=read)

    # -- closing ----------------------------------------------------------

    def close(self) -> None:
        """Close: ``close_kind`` is ``"rst"`` when ``reset_after_peer_fin`` and the peer closed,
        else ``"fin"``.  Idempotent."""
        if not self.closed:
            self.closed = True
            rst = self._reset_after_peer_fin and self.peer_closed()
            self.close_kind = "rst" if rst else "fin"

    def peer_closed(self) -> bool:
        """True once the peer has closed (its FIN arrived, read or not)."""
        return self._eof or isinstance(self._end, Closed)

    def abort(self) -> None:
        """Close abortively: ``close_kind`` is ``"rst"``."""
        if not self.closed:
            self.closed = True
            self.close_kind = "rst"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise OSError(9, "Bad file descriptor (the FakeConn is closed)")


def as_conn(fake: FakeConn) -> Conn:
    """``fake`` typed as the ``Conn`` the judging code is annotated with (no conversion)."""
    return cast(Conn, fake)


def _conn_is_stream_like(conn: Conn) -> StreamLike:
    return conn  # mypy: Conn has StreamLike's surface, so the fake's copy of it is Conn's


def _fake_is_stream_like(fake: FakeConn) -> StreamLike:
    return fake  # mypy: FakeConn has it too
