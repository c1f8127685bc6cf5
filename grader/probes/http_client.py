"""The HTTP probes' client: h11 writes the requests and reads the responses (docs/labs.md §11).

Theory of operation: the grader never parses HTTP itself.  An
:class:`Exchange` wraps one ``h11.Connection`` in the client role
(``client``) over one grader connection; all RFC 9112 framing is h11's.
:meth:`Exchange.request` has h11 write a well-formed request (the bytes
are returned, the caller sends them, whole or split);
:meth:`Exchange.sent_raw` tells h11 which request a hand-made (malformed or
pipelined) request stands for, since the method decides how the response
is framed (a response to HEAD has no body, RFC 9110 §9.3.2).
:meth:`Exchange.response` then feeds h11 what the server sends until h11
has a whole response, and returns it as a :class:`Response`; a response
h11 rejects ends as :class:`Rejected` with h11's own reason.  After a
response, :meth:`Exchange.reusable` tells whether h11 lets the connection
carry another request (it does not when the server said
``Connection: close``, answered as HTTP/1.0, or delimited the body by
closing).  Bytes h11 has not consumed yet (``leftover``) are what the
server sent after the response: after a HEAD response, its body.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import h11

from grader.events import Closed, Done, Event, Reset, Timeout
from grader.net import Conn

#: Bytes of a response body kept in :attr:`Response.body` (the digest covers all of it).
BODY_KEPT = 1024 * 1024
#: The Host every request carries (HTTP/1.1 requires one, RFC 9112 §3.2).
HOST = "localhost"


@dataclass(frozen=True, kw_only=True)
class Response:
    """One response as h11 read it.

    ``headers`` are ``(lower-case name, value)`` text pairs in order;
    ``body`` is the first :data:`BODY_KEPT` bytes of the body, ``size`` its
    length in bytes and ``sha256`` the hex digest of all of it; ``elapsed``
    is seconds from the call to the end of the body.
    """

    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    size: int
    sha256: str
    elapsed: float

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case); several are joined by ', '; None if absent."""
        values = [value for key, value in self.headers if key == name.lower()]
        return ", ".join(values) if values else None

    def media_type(self) -> str | None:
        """The ``Content-Type`` without parameters, lower case (``text/plain``); None if absent."""
        value = self.header("content-type")
        return None if value is None else value.split(";", 1)[0].strip().lower()

    def head_text(self) -> str:
        """The status line and headers as h11 read them, one per line (for evidence)."""
        lines = [f"HTTP/{self.http_version} {self.status} {self.reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class Rejected:
    """No whole response: h11 rejected the bytes (``reason`` is h11's), or the connection
    ended or stalled first (``end``).  ``received`` is what had arrived (first 4 KiB),
    ``body_bytes`` how much of a body had been read."""

    reason: str
    end: Event
    received: bytes
    status: int | None = None
    body_bytes: int = 0
    by_h11: bool = False


@dataclass
class Exchange:
    """One client connection judged by h11 (see the module docstring).

    ``pace`` (optional) is called with the byte count after each read of a
    body: a slow reader sleeps there.
    """

    conn: Conn
    pace: Callable[[int], None] | None = None
    client: h11.Connection = field(init=False)
    _seen: bytearray = field(init=False, default_factory=bytearray)

    def __post_init__(self) -> None:
        self.client = h11.Connection(our_role=h11.CLIENT)

    def request(self, method: str, target: str,
                headers: Sequence[tuple[str, str]] = ()) -> bytes:
        """The bytes of a request h11 writes (``Host`` added), without a body; the caller sends them.

        ``target`` is sent exactly as given (no normalisation of ``..`` or
        percent escapes).  Raises ``h11.LocalProtocolError`` if the previous
        response is not complete (a grader bug).
        """
        self._next_cycle()
        fields = [("Host", HOST), *headers]
        if method in ("POST", "PUT", "PATCH") and not any(k.lower() == "content-length"
                                                          for k, _ in fields):
            fields.append(("Content-Length", "0"))
        data = self.client.send(h11.Request(method=method, target=target, headers=fields))
        data += self.client.send(h11.EndOfMessage()) or b""
        return data or b""

    def sent_raw(self, method: str = "GET") -> None:
        """Tell h11 a hand-made request was sent, standing for a bodiless ``method`` request."""
        self.request(method, "/")

    def _next_cycle(self) -> None:
        if self.client.our_state is h11.DONE and self.client.their_state is h11.DONE:
            self.client.start_next_cycle()

    def reusable(self) -> bool:
        """True when h11 lets this connection carry another request (keep-alive) and the
        server has not closed it (a body delimited by the close ends in EOF)."""
        return (self.client.our_state is h11.DONE and self.client.their_state is h11.DONE
                and not self.client.trailing_data[1])

    @property
    def leftover(self) -> bytes:
        """Bytes received that h11 has not consumed (sent after the last response)."""
        return bytes(self.client.trailing_data[0])

    def response(self, *, deadline: float, read_cap: int = 256 * 1024,
                 stall: float | None = None) -> Response | Rejected:
        """Read the next whole response (informational 1xx responses are skipped) before ``deadline``.

        ``stall`` (seconds): once the head has arrived, a body that gets no
        byte for that long ends as :class:`Rejected` at once (its ``end`` a
        :class:`Timeout`), instead of waiting out ``deadline``: a server
        that sent part of a body and then waits for the next request would
        otherwise hold a probe until its own idle timeout.
        """
        started = time.monotonic()
        self._seen[:] = self.leftover[:4096]  # bytes already here belong to this response
        head: h11.Response | None = None
        digest = hashlib.sha256()
        kept = bytearray()
        size = 0
        closed: Event = Closed()
        while True:
            try:
                event = self.client.next_event()
            except h11.RemoteProtocolError as exc:
                if head is None and not self._seen and self.client.trailing_data[1]:
                    return self._cut(closed, head, size)  # closed before any byte of a response
                return Rejected(reason=str(exc), end=Done(), received=bytes(self._seen[:4096]),
                                status=None if head is None else head.status_code,
                                body_bytes=size, by_h11=True)
            if event is h11.NEED_DATA:
                until = deadline if stall is None or head is None else \
                    min(deadline, time.monotonic() + stall)
                result = self.conn.read_some(deadline=until, cap=read_cap)
                if result.data:
                    if len(self._seen) < 4096:
                        self._seen += result.data[: 4096 - len(self._seen)]
                    self.client.receive_data(result.data)
                    continue
                end = result.end
                if isinstance(end, Closed | Reset):
                    closed = end
                    self.client.receive_data(b"")  # EOF: h11 decides whether the response is whole
                    if isinstance(end, Reset):
                        return self._cut(end, head, size)
                    continue
                return self._cut(end if isinstance(end, Timeout) else Timeout(after=0.0), head, size)
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                data = bytes(event.data)
                digest.update(data)
                if len(kept) < BODY_KEPT:
                    kept += data[: BODY_KEPT - len(kept)]
                size += len(data)
                if self.pace is not None:
                    self.pace(size)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return Response(
                    status=head.status_code, reason=head.reason.decode("latin-1"),
                    http_version=head.http_version.decode("latin-1"),
                    headers=tuple((bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                                  for k, v in head.headers),
                    body=bytes(kept), size=size, sha256=digest.hexdigest(),
                    elapsed=time.monotonic() - started)
            elif isinstance(event, h11.ConnectionClosed):
                return self._cut(Closed(), head, size)
            elif event is h11.PAUSED:  # cannot happen mid-response; a grader bug otherwise
                raise AssertionError("h11 paused before the response ended")

    def _cut(self, end: Event, head: h11.Response | None, size: int) -> Rejected:
        if head is None:
            what = "no response" if not self._seen else "an unfinished response head"
        else:
            what = f"the body stopped after {size} bytes"
        return Rejected(reason=f"{what} ({end.describe()})", end=end,
                        received=bytes(self._seen[:4096]),
                        status=None if head is None else head.status_code, body_bytes=size)
