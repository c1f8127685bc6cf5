"""Framing adapters: how the echo probes put messages on the wire for each framing.

Theory of operation: the ``stream-echo`` probes (docs/labs.md §1-§4 and the
framing servers of lab 9) all check an echo, but the framing decides what a
valid message looks like and when the reply comes.  An assignment names it
in ``[protocol] framing`` (default ``"raw"``); :func:`adapter_for` turns
that into an :class:`Adapter`, built on the sans-IO codecs of
:mod:`grader.codecs.framing`:

* ``frame(content)`` makes probe-chosen *content* a valid message and
  encodes it (a delimiter byte in the content becomes a filler byte; a
  fixed-length message is padded to whole blocks);
* ``stream(data)`` turns bulk random bytes into a valid stream of messages
  (length-prefix: 1 MiB frames; delimiter: the data's own newlines end the
  lines; fixed: padded to whole blocks);
* ``check`` does one round trip and judges the reply, ``expect_reply``
  judges the reply to bytes already written in some pattern.

An echo server replies in the framing it was sent, so the expected reply to
``frame(content)`` is those very wire bytes.  Raw and the three streaming
framings (length-prefix, delimiter, fixed) judge replies as they come, many
messages per connection; the *close* framing (HTTP/1.0 style) has one
message per connection: the client half-closes to end its request and the
reply is everything up to the server's close.  With ``raw`` every helper
does exactly what the probes did before framings existed (same bytes, same
random draws), so lab 1's verdicts do not change.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from grader.codecs import framing
from grader.context import ProbeContext
from grader.events import Closed, Done, Overflow, Reset, Timeout
from grader.net import Conn, ExchangeResult, ReadResult
from grader.probes.common import check_echo, echo_hint, judge_echo, printable
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt, mismatch

#: Payload bytes per frame when a length-prefix stream carries bulk data.
BULK_FRAME = 1024 * 1024
#: Bytes the grader accepts beyond an expected reply before it stops reading.
SLACK = 65536
#: ``[protocol] framing`` names: raw plus every codec framing.
NAMES = ("raw", *framing.NAMES)


class Adapter:
    """Raw framing (docs/labs.md §1): the content is the message; replies are judged as they come.

    Subclasses change :meth:`frame`/:meth:`stream` (streaming framings) or
    the whole round trip (close framing).
    """

    #: The ``[protocol] framing`` name.
    name = "raw"
    #: True when one connection carries many messages (False: close framing).
    streaming = True
    #: The likely bug when a message that arrived in pieces is not echoed whole
    #: (None: keep the generic echo hint).
    split_hint: str | None = None

    def frame(self, content: bytes) -> bytes:
        """Wire bytes of one message carrying ``content`` (made valid for the framing)."""
        return content

    def one(self, content: bytes) -> bytes:
        """``content`` cut or padded to fit exactly one message (fixed framing; else unchanged)."""
        return content

    def stream(self, data: bytes) -> bytes:
        """Wire bytes of a stream of messages carrying bulk ``data``."""
        return data

    def explain(self, sent: bytes, got: bytes, hint: str) -> str:
        """The hint for an echo ``got`` of ``sent`` that differs: framings name their bug.

        Raw and close keep ``hint``; a streaming framing whose reply departs
        from what was sent within its length (the server lost the message
        boundaries) gets its :attr:`split_hint`; extra bytes after a whole echo
        keep ``hint`` (it names the addition).
        """
        return hint

    def payload(self, rng: random.Random, size: int) -> bytes:
        """``size`` random printable bytes that one message of this framing may carry unchanged
        (framing probes are not about byte values: see :func:`printable`)."""
        return printable(rng, size)

    def check(self, ctx: ProbeContext, conn: Conn, content: bytes, *, what: str = "echo") -> None:
        """Send ``frame(content)`` and require exactly it back before the reply deadline.

        Raises :class:`ProbeFailed` with evidence and a hint otherwise.
        """
        check_echo(ctx, conn, self.frame(content), what=what)

    def expect_reply(self, ctx: ProbeContext, conn: Conn, wire: bytes) -> None:
        """Judge the reply to ``wire``, already written on ``conn`` (in any pattern)."""
        judge_echo(wire, conn.read_exactly(len(wire), deadline=ctx.reply_deadline()))

    def begin(self, ctx: ProbeContext, conn: Conn, content: bytes) -> None:
        """Use a connection the way a client does before it goes away (streaming: one round trip)."""
        self.check(ctx, conn, content)

    def bulk(self, conn: Conn, wire: bytes, *, deadline: float, idle: float,
             write_first: bool, start: int = 0,
             hold: Callable[[], bool] | None = None) -> ExchangeResult:
        """Write ``wire`` while reading its echo back (see :meth:`grader.net.Conn.exchange`,
        also for ``hold``); ``start`` bytes of it were already sent."""
        return conn.exchange(wire, expect=len(wire), deadline=deadline, chunk=256 * 1024,
                             idle=idle, write_first=write_first, start=start, hold=hold)

    def after_bulk(self, ctx: ProbeContext, conn: Conn, wire: bytes) -> None:
        """Checks after a whole bulk echo came back (close framing: the server then closes)."""


class _Streaming(Adapter):
    """A codec framing with many messages per connection: length-prefix, delimiter, fixed."""

    def __init__(self, codec: framing.LengthPrefix | framing.Delimiter | framing.Fixed) -> None:
        self.codec = codec
        self.name = codec.name

    def explain(self, sent: bytes, got: bytes, hint: str) -> str:
        if got and got[: len(sent)] != sent[: len(got)] and self.split_hint:
            return f"the reply is out of step with the messages: {self.split_hint}"
        return hint

    def check(self, ctx: ProbeContext, conn: Conn, content: bytes, *, what: str = "echo") -> None:
        # check_echo's steps, with the framing's hint when the reply is out of step
        wire = self.frame(content)
        sent = conn.send_all(wire, deadline=ctx.reply_deadline())
        if isinstance(sent, Reset | Timeout):
            raise ProbeFailed(f"could not send the message: {sent.describe()}",
                              hint="the server stopped reading or reset the connection")
        result = conn.read_exactly(len(wire), deadline=ctx.reply_deadline())
        ctx.log(f"sent {excerpt(wire)}, got {len(result.data)} bytes back ({result.end.describe()})")
        if result.complete and result.data == wire:
            extra = conn.read_for(0.0).data  # bytes already queued beyond the echo show up at once
            if not extra:
                return
            got = wire + extra
            raise mismatch(f"the {what} has {len(extra)} extra bytes after the message",
                           sent=wire, expected=wire, actual=got, end=None,
                           hint=self.explain(wire, got, echo_hint(wire, got, Done())))
        try:
            judge_echo(wire, result, what=what)
        except ProbeFailed as exc:
            raise ProbeFailed(exc.reason, hint=self.explain(wire, result.data, exc.hint),
                              evidence=exc.evidence) from None


class LengthPrefixAdapter(_Streaming):
    """Length-prefix framing: header then payload (docs/labs.md §9)."""

    codec: framing.LengthPrefix
    split_hint = ("recv(4) and recv(length) may return fewer bytes than asked (even 1): loop "
                  "until the whole header, then the whole payload, is in")

    def __init__(self, codec: framing.LengthPrefix) -> None:
        super().__init__(codec)

    def frame(self, content: bytes) -> bytes:
        return self.codec.encode(content)

    def stream(self, data: bytes) -> bytes:
        size = max(1, min(BULK_FRAME, self.codec.max_length))
        return b"".join(self.codec.encode(data[at : at + size]) for at in range(0, len(data), size))


class DelimiterAdapter(_Streaming):
    """Delimiter framing: payload then ``\\n`` (docs/labs.md §9)."""

    codec: framing.Delimiter
    split_hint = ("one recv() is not one line: keep the bytes in a buffer until the newline "
                  "arrives, and answer only complete lines")

    def __init__(self, codec: framing.Delimiter) -> None:
        super().__init__(codec)
        delim = codec.delimiter
        self.filler = next(bytes([b]) for b in b".-_ xyz" if b not in delim)
        self._clean = bytes.maketrans(delim, self.filler * len(delim))

    def clean(self, content: bytes) -> bytes:
        """``content`` with every byte of the delimiter replaced by a filler byte (same length)."""
        return content.translate(self._clean)

    def frame(self, content: bytes) -> bytes:
        return self.codec.encode(self.clean(content))

    def payload(self, rng: random.Random, size: int) -> bytes:
        return self.clean(printable(rng, size))

    def stream(self, data: bytes) -> bytes:
        # the data's own bytes equal to the delimiter's last byte end the lines; a line past
        # the codec's maximum length is cut into frames of that length.  Each piece is framed
        # as frame() does (cleaned, then the delimiter), by C-level joins: a 16 MiB payload
        # has some 130,000 lines
        cap = max(1, self.codec.max_length)
        delimiter = self.codec.delimiter
        lines = data.split(delimiter[-1:])
        if max(map(len, lines)) > cap:
            lines = [line[at : at + cap] for line in lines for at in range(0, max(1, len(line)), cap)]
        return delimiter.join(map(self.clean, lines)) + delimiter


class FixedAdapter(_Streaming):
    """Fixed-length framing: every message is exactly ``size`` bytes (docs/labs.md §9)."""

    codec: framing.Fixed
    filler = b"."
    split_hint = ("recv(16) may return fewer than 16 bytes (even 1): loop until the whole "
                  "message is in")

    def __init__(self, codec: framing.Fixed) -> None:
        super().__init__(codec)

    def frame(self, content: bytes) -> bytes:
        size = self.codec.size
        blocks = max(1, -(-len(content) // size))
        return content.ljust(blocks * size, self.filler)

    def one(self, content: bytes) -> bytes:
        return content[: self.codec.size].ljust(self.codec.size, self.filler)

    def stream(self, data: bytes) -> bytes:
        size = self.codec.size
        return data.ljust(-(-len(data) // size) * size, self.filler)


class CloseAdapter(Adapter):
    """Close framing (HTTP/1.0 style, docs/labs.md §9): the client's half-close ends the request;
    the reply is everything the server sends before it closes."""

    name = "close"
    streaming = False
    split_hint = ("the request ends at the client's half-close: read until recv() returns b'' "
                  "before replying, however the request was split")

    def __init__(self, codec: framing.Close) -> None:
        self.codec = codec

    def check(self, ctx: ProbeContext, conn: Conn, content: bytes, *, what: str = "echo") -> None:
        wire = self.frame(content)
        sent = conn.send_all(wire, deadline=ctx.reply_deadline())
        if isinstance(sent, Reset | Timeout):
            raise ProbeFailed(f"could not send the request: {sent.describe()}",
                              hint="the server stopped reading or reset the connection")
        self.expect_reply(ctx, conn, wire)

    def expect_reply(self, ctx: ProbeContext, conn: Conn, wire: bytes) -> None:
        conn.shutdown_write()
        result = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=len(wire) + SLACK)
        ctx.log(f"sent {len(wire)} bytes then SHUT_WR; read {len(result.data)} bytes, "
                f"ended: {result.end.describe()}")
        judge_reply_then_close(wire, result)

    def begin(self, ctx: ProbeContext, conn: Conn, content: bytes) -> None:
        """Send a request but not its end (no half-close): the reply cannot come yet."""
        conn.send_all(self.frame(content), deadline=ctx.reply_deadline())

    def bulk(self, conn: Conn, wire: bytes, *, deadline: float, idle: float,
             write_first: bool, start: int = 0,
             hold: Callable[[], bool] | None = None) -> ExchangeResult:
        return conn.exchange(wire, expect=len(wire), deadline=deadline, chunk=256 * 1024,
                             idle=idle, write_first=write_first, half_close=True, start=start,
                             hold=hold)

    def after_bulk(self, ctx: ProbeContext, conn: Conn, wire: bytes) -> None:
        rest = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=SLACK)
        judge_reply_then_close(b"", rest, what=f"after the {len(wire)}-byte reply")


def adapter_for(ctx: ProbeContext) -> Adapter:
    """The adapter for the assignment's ``[protocol] framing`` (default ``"raw"``).

    Raises :class:`ProbeError` (a grader configuration fault, never the
    student's) for an unknown name or bad framing parameters.
    """
    name = ctx.protocol.get("framing", "raw")
    if name == "raw":
        return Adapter()
    try:
        codec = framing.from_protocol(ctx.protocol)
    except (ValueError, TypeError) as exc:
        raise ProbeError(f"assignment {ctx.assignment.id}: {exc}") from None
    return adapter_for_codec(codec)


def adapter_for_codec(codec: framing.Framing) -> Adapter:
    """The adapter for one of the codec framings of :mod:`grader.codecs.framing`."""
    if isinstance(codec, framing.LengthPrefix):
        return LengthPrefixAdapter(codec)
    if isinstance(codec, framing.Delimiter):
        return DelimiterAdapter(codec)
    if isinstance(codec, framing.Fixed):
        return FixedAdapter(codec)
    if isinstance(codec, framing.Close):
        return CloseAdapter(codec)
    raise TypeError(f"no adapter for {type(codec).__name__}")


def require(ctx: ProbeContext, *names: str) -> Adapter:
    """The assignment's adapter; ProbeError unless its framing is one of ``names``.

    A probe that has no meaning for a framing (a zero-length fixed block) is
    an assignment configuration error, not a student failure.
    """
    adapter = adapter_for(ctx)
    if adapter.name not in names:
        raise ProbeError(f"{ctx.config.name} applies to the {', '.join(names)} framing(s), but "
                         f"assignment {ctx.assignment.id} uses {adapter.name!r}: remove the probe")
    return adapter


def judge_reply_then_close(message: bytes, result: ReadResult, *, what: str = "") -> None:
    """Require ``result`` (a read to EOF) to hold exactly ``message`` and end in an orderly close.

    Raises :class:`ProbeFailed`: for different bytes, extra bytes, no close
    (Timeout) or a reset.  Source: docs/labs.md §1 ("finish sending whatever is
    still pending and close"); docs/labs.md §9 (close framing).
    """
    where = f" {what}" if what else ""
    if result.data[: len(message)] != message[: len(result.data)] or len(result.data) < len(message):
        raise mismatch(
            f"the echo before the close differs from what was sent{where}",
            sent=message, expected=message, actual=result.data, end=result.end,
            hint=echo_hint(message, result.data, result.end),
        )
    if isinstance(result.end, Overflow):
        raise ProbeFailed(
            f"after the half-close the server kept sending data, more than it received{where}",
            hint="when recv() returns b'' the client is done: stop sending and close",
            evidence=Evidence(expected=f"{len(message)} bytes then EOF",
                              actual=f"{len(result.data)} bytes and more",
                              transport=result.end.describe()),
        )
    if len(result.data) > len(message):
        raise mismatch(
            f"the server sent more than it received before closing{where}",
            sent=message, expected=message, actual=result.data, end=result.end,
            hint=echo_hint(message, result.data, result.end),
        )
    if isinstance(result.end, Timeout):
        raise ProbeFailed(
            f"the server never closed the connection after the client's half-close{where}",
            hint="recv() returning b'' means the client closed its side: close the socket "
                 "(a loop that ignores b'' also spins at 100% CPU)",
            evidence=Evidence(expected="EOF (FIN)", actual="no close", transport=result.end.describe()),
        )
    if isinstance(result.end, Reset):
        raise ProbeFailed(
            f"the server reset the connection instead of closing it{where}",
            hint="close normally after sending everything; a crash or SO_LINGER 0 sends RST",
            evidence=Evidence(expected="EOF (FIN)", actual="RST", transport=result.end.describe()),
        )
    assert isinstance(result.end, Closed | Done)
