"""Drive many echo clients at once from one thread with one selector.

Theory of operation: a concurrency probe needs tens to thousands of clients
talking at the same moment; a thread per client would measure the grader's
scheduler as much as the server.  A :class:`Crowd` registers every client's
socket in one selector and runs a small state machine per socket until a
condition holds or a deadline passes:

* an :class:`EchoClient` sends its messages one round trip at a time (the
  next message leaves as soon as the echo of the previous one is back, byte
  for byte) and then either holds its connection open or closes it;
* a :class:`Pusher` writes without ever reading (a client that sends a lot
  and never reads its echo) until the server stops taking its bytes.

Sockets come from :meth:`grader.context.ProbeContext.connect`, so the context
still closes them when the probe ends; the crowd reads and writes the raw
non-blocking socket, so a connection must not also be read through its
:class:`~grader.net.Conn` methods.  Nothing here judges: probes read the
clients' states and raise the verdicts.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from grader.events import Closed, Event, Overflow
from grader.net import Conn, reset_or_raise

_RECV = 65536
_CHUNK = 256 * 1024


@dataclass(eq=False)
class EchoClient:
    """One client of the crowd: ``messages`` sent in turn, each echo awaited before the next.

    ``rounds`` counts echoes received whole.  ``failure`` says how the
    client went wrong (None while fine); ``end`` is the transport event
    behind it (:class:`~grader.events.Closed`, :class:`~grader.events.Reset`,
    or :class:`~grader.events.Overflow` for bytes that are not the echo,
    then kept in ``wrong``).  ``finished`` is the ``time.monotonic()``
    second its last echo arrived.
    """

    index: int
    conn: Conn
    messages: Sequence[bytes]
    hold: bool
    rounds: int = 0
    got: bytearray = field(default_factory=bytearray)
    failure: str | None = None
    end: Event | None = None
    wrong: bytes | None = None
    finished: float | None = None
    _out: memoryview = field(default_factory=lambda: memoryview(b""))

    @property
    def done(self) -> bool:
        """True when every message came back."""
        return self.rounds == len(self.messages)

    @property
    def waiting(self) -> bool:
        """True while the client neither finished nor failed."""
        return not self.done and self.failure is None

    @property
    def expected(self) -> bytes:
        """The echo this client is waiting for (empty when done)."""
        return b"" if self.done else self.messages[self.rounds]


@dataclass(eq=False)
class Pusher:
    """A client that writes up to ``cap`` bytes (``chunk`` repeated) and never reads.

    ``sent`` counts bytes the kernel took; ``progress`` is the
    ``time.monotonic()`` second of the last write that moved bytes;
    ``end`` is a :class:`~grader.events.Reset` when the server aborted it.
    """

    conn: Conn
    chunk: memoryview
    cap: int
    sent: int = 0
    progress: float = field(default_factory=time.monotonic)
    end: Event | None = None

    @property
    def finished(self) -> bool:
        """True when it wrote everything or was reset."""
        return self.sent >= self.cap or self.end is not None

    def stalled(self, seconds: float) -> bool:
        """True when no byte was taken for ``seconds`` (the server stopped reading it)."""
        return time.monotonic() - self.progress >= seconds


class Crowd:
    """Many clients on one selector; see the module docstring."""

    def __init__(self) -> None:
        self.clients: list[EchoClient] = []
        self.pushers: list[Pusher] = []
        self.done = 0
        self.failed = 0
        #: ``time.monotonic()`` second a byte last moved in either direction on any socket.
        self.moved = time.monotonic()
        self._selector = selectors.DefaultSelector()
        self._masks: dict[int, int] = {}

    # -- building --------------------------------------------------------

    def add(self, conn: Conn, messages: Sequence[bytes], *, hold: bool = True) -> EchoClient:
        """Add a client that will send ``messages`` in turn; ``hold`` keeps it open when done."""
        client = EchoClient(index=len(self.clients), conn=conn, messages=list(messages), hold=hold)
        if client.messages:
            client._out = memoryview(client.messages[0])
        self.clients.append(client)
        self._update(client.conn, client)
        return client

    def push(self, conn: Conn, chunk: bytes, *, cap: int) -> Pusher:
        """Add a client that writes ``cap`` bytes (``chunk`` repeated) and never reads."""
        pusher = Pusher(conn=conn, chunk=memoryview(chunk), cap=cap)
        self.pushers.append(pusher)
        self._update(conn, pusher)
        return pusher

    def release(self) -> None:
        """Stop holding: clients already done close now, the others when they finish."""
        for client in self.clients:
            client.hold = False
            if client.done:
                self._forget(client.conn)
                client.conn.close()

    # -- running ---------------------------------------------------------

    def run(
        self,
        until: Callable[[], bool],
        *,
        deadline: float,
        idle: float | None = None,
        tick: Callable[[], None] | None = None,
        every: float = 0.05,
    ) -> bool:
        """Move bytes until ``until()`` is true (returns True) or the time is up (False).

        The time is up at ``deadline``, or when no byte moved on any socket
        for ``idle`` seconds (a server that stopped answering).  ``tick`` is
        called about every ``every`` seconds while running (to sample the
        server's threads, say).  A client or pusher with nothing left to do
        is unregistered, so the loop never spins.
        """
        next_tick = time.monotonic() + every
        self.moved = time.monotonic()
        while True:
            if until():
                return True
            now = time.monotonic()
            if now >= deadline or (idle is not None and now - self.moved >= idle):
                return False
            if tick is not None and now >= next_tick:
                tick()
                next_tick = now + every
            wait = min(deadline - now, every if tick is not None else 0.05)
            if not self._masks:
                time.sleep(wait)  # nothing registered: only the clock can change until()
                continue
            for key, events in self._selector.select(wait):
                self._step(key.data, events)

    def close(self) -> None:
        """Release the selector (the sockets belong to the probe context)."""
        self._selector.close()

    # -- internals -------------------------------------------------------

    def _step(self, who: EchoClient | Pusher, events: int) -> None:
        if isinstance(who, Pusher):
            self._push(who)
            return
        if events & selectors.EVENT_WRITE and who._out:
            try:
                who._out = who._out[who.conn.sock.send(who._out[:_CHUNK]):]
                self.moved = time.monotonic()
            except BlockingIOError:
                pass
            except OSError as exc:
                self._fail(who, "reset while sending", reset_or_raise(exc))
                return
        if events & selectors.EVENT_READ:
            self._read(who)
        if who.failure is None and not (who.done and not who.hold):
            self._update(who.conn, who)

    def _read(self, client: EchoClient) -> None:
        try:
            data = client.conn.sock.recv(_RECV)
        except BlockingIOError:
            return
        except OSError as exc:
            self._fail(client, "reset by the server", reset_or_raise(exc))
            return
        if not data:
            self._fail(client, "closed by the server (FIN) before its echo came back", Closed())
            return
        self.moved = time.monotonic()
        client.got += data
        expected = client.expected
        if len(client.got) > len(expected) or not expected.startswith(client.got):
            client.wrong = bytes(client.got)
            self._fail(client, "got bytes that are not its echo", Overflow(cap=len(expected)))
            return
        if len(client.got) < len(expected):
            return
        client.rounds += 1
        client.got.clear()
        if client.done:
            client.finished = time.monotonic()
            self.done += 1
            if not client.hold:
                self._forget(client.conn)
                client.conn.close()
            return
        client._out = memoryview(client.messages[client.rounds])

    def _push(self, pusher: Pusher) -> None:
        while pusher.sent < pusher.cap:
            size = min(len(pusher.chunk), pusher.cap - pusher.sent)
            try:
                moved = pusher.conn.sock.send(pusher.chunk[:size])
            except BlockingIOError:
                break
            except OSError as exc:
                pusher.end = reset_or_raise(exc)
                break
            pusher.sent += moved
            pusher.progress = self.moved = time.monotonic()
        if pusher.finished:
            self._forget(pusher.conn)

    def _fail(self, client: EchoClient, failure: str, end: Event) -> None:
        client.failure = failure
        client.end = end
        self.failed += 1
        self._forget(client.conn)

    def _update(self, conn: Conn, who: EchoClient | Pusher) -> None:
        if isinstance(who, Pusher):
            mask = 0 if who.finished else selectors.EVENT_WRITE
        elif who.done:
            mask = 0  # a held client reads nothing more
        else:
            mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if who._out else 0)
        fd = conn.sock.fileno()
        old = self._masks.get(fd, 0)
        if mask == old:
            return
        if not mask:
            self._forget(conn)
        elif not old:
            self._selector.register(conn.sock, mask, who)
            self._masks[fd] = mask
        else:
            self._selector.modify(conn.sock, mask, who)
            self._masks[fd] = mask

    def _forget(self, conn: Conn) -> None:
        if conn.closed:
            return
        fd = conn.sock.fileno()
        if self._masks.pop(fd, 0):
            self._selector.unregister(conn.sock)
