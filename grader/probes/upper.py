"""Probes for the socketserver upper-case servers (docs/labs.md §5): TCP and UDP variants.

Theory of operation: one rule, two transports.  The reply to a request is
the request stripped of surrounding whitespace and upper-cased, plus a
terminator; the assignment's ``[protocol]`` table may change the rule
(``strip``: bool, ``terminator``: string, ``max_line``: bytes).  Payloads
are ASCII (upper-casing beyond ASCII differs between bytes and str).

- Suite ``upper-line`` (TCP; the plain and the ThreadingMixIn variants): a
  request is one line ending in ``\\n`` (at most ``max_line`` bytes, 1024 by
  default); the reply is one line (``terminator`` ``"\\n"``), then the
  server closes.  Replies are read with the shared line codec
  (:mod:`grader.codecs.lines`).  The probes every request/reply TCP lab
  shares (close after the reply, a client reset, clients one after another,
  fd leaks, idle CPU) come from :mod:`grader.probes.generic`.
  ``concurrency/silent-clients`` is registered informational; the threading
  assignment makes it required.
- Suite ``upper-datagram`` (UDPServer variant): a datagram in, one datagram
  out (``terminator`` ``""`` by default, as in the socketserver
  documentation's example); the shared UDP probes come from
  :mod:`grader.probes.datagram`.
"""

from __future__ import annotations

from grader.codecs.base import ProtocolError
from grader.codecs.lines import LineDecoder
from grader.context import ProbeContext
from grader.events import Closed, Event, Timeout
from grader.net import Conn
from grader.probes import datagram, generic
from grader.probes.common import register_startup
from grader.probes.datagram import DatagramLab, check_reply, peer
from grader.probes.queues import Pacer
from grader.probes.registry import REGISTRY, Param
from grader.verdict import ProbeError, ProbeFailed, Tier, excerpt, mismatch

LINE_SUITE = "upper-line"
DATAGRAM_SUITE = "upper-datagram"
SOURCE = "docs/labs.md §5"
BASE = "upper/one-line"
probe = REGISTRY.probe

_WORDS = ("hello", "Socket", "server", "UPPER", "case", "Line", "mixed", "Case", "python",
          "request", "reply", "42", "7up", "data-gram", "ok,", "yes.", "no!", "a_b")


def _words(ctx: ProbeContext, low: int, high: int) -> bytes:
    return " ".join(ctx.rng.choice(_WORDS) for _ in range(ctx.rng.randint(low, high))).encode()


def rule(ctx: ProbeContext) -> tuple[bool, bytes]:
    """The assignment's rule: (strip surrounding whitespace?, reply terminator)."""
    default = "\n" if ctx.assignment.suite == LINE_SUITE else ""
    strip = ctx.protocol.get("strip", True)
    terminator = ctx.protocol.get("terminator", default)
    if not isinstance(strip, bool) or not isinstance(terminator, str):
        raise ProbeError("assignment [protocol]: 'strip' must be a boolean, 'terminator' a string")
    return strip, terminator.encode()


def expected_reply(ctx: ProbeContext, request: bytes) -> bytes:
    """The reply to ``request`` (a line with its ``\\n``, or a datagram's bytes)."""
    strip, terminator = rule(ctx)
    text = request.strip() if strip else request.removesuffix(b"\n")
    return text.upper() + terminator


def upper_hint(sent: bytes, expected: bytes, got: bytes, end: Event | None = None) -> str:
    """The likely bug behind a wrong reply to ``sent``."""
    body = expected.rstrip(b"\n")
    if not got:
        if isinstance(end, Closed):
            return "it closed the connection without replying"
        if isinstance(end, Timeout):
            return ("no reply: read the whole line (self.rfile.readline() reads up to \\n), "
                    "then answer it")
        return "no reply came back"
    if got == body and expected != body:
        return "the reply must end with \\n: write the upper-cased line plus b'\\n'"
    if got.upper() == got and got.strip() == sent.upper().strip() and got != expected:
        return "strip the surrounding whitespace (bytes.strip()) before upper-casing"
    if got.strip() == sent.strip() or got.strip().lower() == got.strip():
        return "upper-case the line (bytes.upper() or str.upper())"
    if got.rstrip(b"\n") and body.startswith(got.rstrip(b"\n")):
        return (f"only the first {len(got.rstrip(chr(10).encode()))} bytes of the line were "
                "answered: one recv() taken as the whole request, or a readline() limit too "
                "small; read until \\n (self.rfile.readline(1024))")
    return "reply with the line stripped and upper-cased, plus \\n"


# -- TCP: suite upper-line -------------------------------------------------------------


def exchange(ctx: ProbeContext, conn: Conn, request: bytes, *, chunks: list[int] | None = None,
             gap: float = 0.0, pace: Pacer | None = None) -> None:
    """Send one request line on ``conn`` (optionally split; ``pace``: each piece once the server
    has read the one before) and judge the one-line reply."""
    expected = expected_reply(ctx, request)
    conn.send_all(request, deadline=ctx.reply_deadline(), chunks=chunks, gap=gap, pace=pace)
    if pace is not None:
        ctx.log(f"wrote {len(request)} pieces, {pace.describe()}")
    cap = len(expected) + 1024
    _, terminator = rule(ctx)
    if terminator:
        result = conn.read_until(terminator, deadline=ctx.reply_deadline(), cap=cap)
    else:
        result = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=cap)
    ctx.log(f"sent {excerpt(request)}, got {excerpt(result.data)} ({result.end.describe()})")
    if result.data == expected and (result.complete or not terminator):
        if terminator == b"\n":
            decoder = LineDecoder(max_line=cap)
            decoder.feed(result.data)
            try:
                decoder.messages()
            except ProtocolError as exc:
                raise ProbeFailed(f"the reply is not a text line: {exc}",
                                  hint="reply with UTF-8 text") from None
        return
    raise mismatch(f"wrong reply to a {len(request)}-byte request ({result.end.describe()})",
                   sent=request, expected=expected, actual=result.data, end=result.end,
                   hint=upper_hint(request, expected, result.data, result.end))


def _request(ctx: ProbeContext, index: int) -> bytes:
    return f"request {index}: ".encode() + _words(ctx, 2, 6) + b"\n"


def _session(ctx: ProbeContext, conn: Conn, index: int) -> None:
    exchange(ctx, conn, _request(ctx, index))


def _opening(ctx: ProbeContext, conn: Conn) -> None:
    conn.send_all(b"a request without its newline", deadline=ctx.reply_deadline())


register_startup(LINE_SUITE)


@probe(LINE_SUITE, BASE, weight=2, depends=("startup/listens",))
def one_line(ctx: ProbeContext) -> None:
    """One line sent on a new connection comes back upper-cased, as one line ending in \\n.

    Source: docs/labs.md §5 ("The reply is that line with surrounding
    whitespace stripped, converted to upper case, and followed by \\n").
    """
    with ctx.connect() as conn:
        exchange(ctx, conn, b"hello sockgrade, " + _words(ctx, 3, 8) + b"\n")


@probe(LINE_SUITE, "upper/strips", depends=(BASE,))
def strips(ctx: ProbeContext) -> None:
    """Surrounding spaces and tabs are stripped; the spaces inside the line are kept.

    Source: docs/labs.md §5 ("surrounding whitespace stripped").
    """
    with ctx.connect() as conn:
        exchange(ctx, conn, b"  \t padded  " + _words(ctx, 2, 4) + b" \t  \n")


@probe(LINE_SUITE, "partial/split-request", depends=(BASE,))
def split_request(ctx: ProbeContext) -> None:
    """A request line written one byte at a time (TCP_NODELAY, each byte once the server has
    read the one before) is answered whole.

    One recv() is not one request: read until the newline. Source: docs/labs.md
    §5 ("One recv(1024) taken as the whole request").
    """
    request = b"split " + _words(ctx, 3, 5) + b"\n"
    with ctx.connect(nodelay=True) as conn:
        exchange(ctx, conn, request, chunks=[1] * len(request), gap=0.002,
                 pace=Pacer(ctx, conn))


@probe(LINE_SUITE, "partial/max-line", depends=(BASE,))
def max_line(ctx: ProbeContext) -> None:
    """A line of the largest allowed size (1,024 bytes with its \\n) is answered whole.

    Source: docs/labs.md §5 ("of at most 1024 bytes (the newline included)").
    """
    size = int(ctx.protocol.get("max_line", 1024))
    text = b"long"
    while len(text) < size - 1:
        text += b" " + _words(ctx, 1, 1)
    body = text[: size - 1]
    if body.endswith(b" "):  # a trailing space would be stripped: keep the length visible
        body = body[:-1] + b"x"
    with ctx.connect() as conn:
        exchange(ctx, conn, body + b"\n")


@probe(LINE_SUITE, "concurrency/silent-clients", tier=Tier.INFORMATIONAL, depends=(BASE,),
       params=(Param("clients", 10, "count", "silent clients held open"),))
def silent_clients(ctx: ProbeContext) -> None:
    """While {clients} silent clients are connected, one more is served; then each of them is.

    Informational for the plain TCPServer; required for the ThreadingMixIn
    variant. Source: docs/labs.md §5 ("ThreadingMixIn variant").
    """
    count = ctx.param_int("clients")
    silent = [ctx.connect() for _ in range(count)]
    ctx.log(f"{count} clients connected, silent")
    try:
        with ctx.connect() as late:
            exchange(ctx, late, _request(ctx, 0))
        for index, conn in reversed(list(enumerate(silent))):
            exchange(ctx, conn, _request(ctx, index + 1))
    except ProbeFailed as exc:
        raise ProbeFailed(
            f"with {count} silent clients connected, a client was not served: {exc.reason}",
            hint="serve each client in its own thread: socketserver.ThreadingTCPServer, or "
                 "ThreadingMixIn before TCPServer in the class bases",
            evidence=exc.evidence,
        ) from None
    finally:
        for conn in silent:
            conn.close()


generic.register(generic.ServerLab(
    suite=LINE_SUITE, source=SOURCE, session=_session, opening=_opening, depends=(BASE,),
    sequential_count=300, request=_request,
), which=(*generic.ALL, generic.RESET_BEFORE_REPLY))


# -- UDP: suite upper-datagram ---------------------------------------------------------


def _datagram_request(ctx: ProbeContext, index: int) -> bytes:
    return f"datagram {index}: ".encode() + _words(ctx, 2, 6)


def _datagram_hint(sent: bytes, expected: bytes, got: bytes) -> str:
    return upper_hint(sent, expected, got).replace(
        "plus \\n", "as one datagram").replace(" (self.rfile.readline())", "")


DATAGRAM_LAB = DatagramLab(suite=DATAGRAM_SUITE, source=f'{SOURCE} ("UDPServer variant")',
                           category="upper", request=_datagram_request, reply=expected_reply,
                           hint=_datagram_hint)
datagram.register(DATAGRAM_LAB)


@probe(DATAGRAM_SUITE, "upper/strips", depends=(DATAGRAM_LAB.base,))
def datagram_strips(ctx: ProbeContext) -> None:
    """A datagram with surrounding spaces, tabs and a newline comes back stripped and upper-cased.

    Source: docs/labs.md §5 (the UDPServer variant replies with the
    request's upper case under the same rule as the TCP one).
    """
    request = b" \t padded  " + _words(ctx, 2, 4) + b" \t\n"
    with peer(ctx) as client:
        check_reply(ctx, DATAGRAM_LAB, client, request)
