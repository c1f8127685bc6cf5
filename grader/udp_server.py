"""The grader playing a UDP server for client labs: a small, deterministic, impairing peer.

Theory of operation: a :class:`UdpServer` owns one datagram socket bound on
the launcher's listen address (the client submission is told that address)
and serves it from a background thread until it is stopped or its deadline
(``time.monotonic()`` seconds) passes.  The thread waits on the socket's
real readiness and on a wake-up socket pair with a selector, so it never
sleeps and never outlives its deadline; :meth:`UdpServer.stop` wakes it and
joins it with a deadline.

Each datagram received is a *request*, numbered from 0.  What the server
does with request ``i`` is decided by its :class:`Plan`, before any traffic,
so a run is a function of the plan and the client alone:

- ``drop``: request ``i`` is not answered (the datagram was "lost");
- ``hold``: the reply to request ``i`` is kept back and sent when request
  ``i + 1`` arrives, just before that one is handled (a reply overtaken by
  the client's retransmission: the client gets two replies);
- ``copies``: the reply is sent that many times (duplicated in the network);
- ``decoy``: a datagram with other bytes is first sent to the client from
  *another* socket (another port of the same address): a reply from a
  stranger, which a client must ignore;
- a silent plan answers nothing.

Random impairments (a share of requests dropped, a share of replies
duplicated) are drawn from a :class:`random.Random` the caller seeds (a
probe passes ``ctx.rng``): :meth:`Plan.seeded` draws every decision up front,
so the same seed gives the same run.  The reply to a request is
``reply(data)`` (an echo server passes the identity).

Everything the server saw and did is kept as :class:`Request` and
:class:`Sent` records with their times, for the probe to judge and to put
in its transcript (``log``).  Judging is left to the caller: the records are
plain data, so judging logic is unit-testable without sockets.
"""

from __future__ import annotations

import contextlib
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Receive cap (bytes): one more than any IPv4 UDP payload, so truncation is never silent.
CAP = 65536


@dataclass(frozen=True, kw_only=True)
class Action:
    """What the server does with one request (see the module docstring)."""

    drop: bool = False
    hold: bool = False
    copies: int = 1
    decoy: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Actions by request index; requests past ``actions`` get ``default``."""

    actions: tuple[Action, ...] = ()
    default: Action = field(default_factory=Action)

    def action(self, index: int) -> Action:
        """The action for request ``index`` (0 is the first request)."""
        return self.actions[index] if index < len(self.actions) else self.default

    @classmethod
    def silent(cls) -> Plan:
        """A server that receives everything and answers nothing."""
        return cls(default=Action(drop=True))

    @classmethod
    def seeded(cls, rng: random.Random, *, requests: int, drop: float = 0.0,
               duplicate: float = 0.0) -> Plan:
        """For the first ``requests`` requests: each dropped with probability ``drop`` (a share),
        each reply otherwise sent twice with probability ``duplicate``; later requests are answered
        once.  Every decision is drawn from ``rng`` now, in request order."""
        actions = []
        for _ in range(requests):
            dropped = rng.random() < drop
            doubled = rng.random() < duplicate
            actions.append(Action(drop=dropped, copies=2 if doubled else 1))
        return cls(actions=tuple(actions))


@dataclass(frozen=True, kw_only=True)
class Request:
    """Datagram ``index`` received: its bytes, sender and time ``at`` (seconds since start)."""

    index: int
    data: bytes
    source: tuple[str, int]
    at: float
    truncated: bool = False


@dataclass(frozen=True, kw_only=True)
class Sent:
    """A datagram sent to the client at ``at`` (seconds since start): ``what`` is ``reply``,
    ``late reply`` (a held one) or ``decoy``; ``request`` is the request it answers."""

    request: int
    what: str
    size: int
    at: float


class UdpServer:
    """Serve ``sock`` (a bound datagram socket, now owned) by ``plan`` until stopped.

    ``reply`` maps a request's bytes to the reply's; ``deadline`` bounds the
    thread; ``log`` receives one line per event; ``opener`` makes the decoy
    socket (it binds the same host as ``sock``).  Use as a context manager:
    the thread starts on entry and is stopped on exit.
    """

    def __init__(self, sock: socket.socket, *, plan: Plan, deadline: float,
                 reply: Callable[[bytes], bytes] = lambda data: data,
                 log: Callable[[str], None] = lambda line: None,
                 opener: Callable[[int, int], socket.socket] = socket.socket) -> None:
        self.sock = sock
        host, port = sock.getsockname()[:2]
        #: Where the server is bound: the address a client is told (kept after :meth:`stop`).
        self.address: tuple[str, int] = (str(host), int(port))
        self.plan = plan
        self.deadline = deadline
        self._reply = reply
        self._log = log
        self._opener = opener
        self.requests: list[Request] = []
        self.sent: list[Sent] = []
        self._held: list[tuple[int, bytes, tuple[str, int]]] = []
        self._decoy: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._serve, name="udp-server", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start serving (once)."""
        self._t0 = time.monotonic()
        self.sock.setblocking(False)
        self._thread.start()

    def stop(self, *, timeout: float = 2.0) -> None:
        """Wake the thread, wait up to ``timeout`` seconds for it, release the sockets."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread.is_alive():
            self._thread.join(timeout)
        for sock in (self._wake_r, self._wake_w, self.sock, self._decoy):
            if sock is not None:
                sock.close()

    def __enter__(self) -> UdpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def snapshot(self) -> tuple[list[Request], list[Sent]]:
        """Copies of the records so far (safe while the thread runs)."""
        with self._lock:
            return list(self.requests), list(self.sent)

    # -- the thread ----------------------------------------------------------

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ, "data")
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while (left := self.deadline - time.monotonic()) > 0:
                events = selector.select(left)
                if any(key.data == "wake" for key, _ in events):
                    return
                if events:
                    self._receive_all()
        except BaseException as exc:  # reported to the probe, never lost in a thread
            self.error = exc
        finally:
            selector.close()

    def _receive_all(self) -> None:
        while True:
            try:
                data, _, flags, source = self.sock.recvmsg(CAP)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:  # an ICMP error for an earlier reply: ignore it
                continue
            where = (str(source[0]), int(source[1]))
            with self._lock:
                request = Request(index=len(self.requests), data=data, source=where,
                                  at=self._now(), truncated=bool(flags & socket.MSG_TRUNC))
                self.requests.append(request)
            self._log(f"request {request.index}: {len(data)} bytes from port {where[1]} "
                      f"at {request.at:.3f} s")
            self._handle(request)

    def _send(self, sock: socket.socket, data: bytes, to: tuple[str, int], request: int,
              what: str) -> None:
        try:
            sock.sendto(data, to)
        except OSError as exc:  # the client is gone (ICMP) or the buffer is full: a lost reply
            self._log(f"{what} to request {request} not sent: {exc}")
            return
        with self._lock:
            self.sent.append(Sent(request=request, what=what, size=len(data), at=self._now()))
        self._log(f"sent {what} to request {request}: {len(data)} bytes")

    def _handle(self, request: Request) -> None:
        held, self._held = self._held, []
        for index, data, to in held:
            self._send(self.sock, data, to, index, "late reply")
        action = self.plan.action(request.index)
        if action.drop:
            self._log(f"request {request.index} dropped")
            return
        reply = self._reply(request.data)
        if action.hold:
            self._held.append((request.index, reply, request.source))
            self._log(f"reply to request {request.index} held until the next request")
            return
        if action.decoy is not None:
            if self._decoy is None:
                self._decoy = self._opener(socket.AF_INET, socket.SOCK_DGRAM)
                self._decoy.bind((self.address[0], 0))
            self._log(f"decoy from port {self._decoy.getsockname()[1]} (not the server's "
                      f"{self.address[1]})")
            self._send(self._decoy, action.decoy, request.source, request.index, "decoy")
        for _ in range(action.copies):
            self._send(self.sock, reply, request.source, request.index, "reply")
