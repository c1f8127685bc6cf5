"""Framing probes for the framing echo servers (suite ``stream-echo``; docs/labs.md §9).

Theory of operation: the general echo probes of :mod:`grader.probes.stream`
already run in every framing through :mod:`grader.probes.adapter`; the
probes here test what only a framing has: a header or delimiter arriving on
its own, several messages in one segment, the empty message, a large one, a
length header that lies, a message cut short by EOF, and (close framing) a
reply that must wait for the half-close.  Each probe names the framings it
applies to; an assignment that lists a probe for another framing gets a
grader error (a configuration fault), never a student failure.

The huge-header probe watches the server's resident memory (``ctx.stats()``)
while the connection is open, so it runs on a lane of its own: no other
probe's traffic moves that instance's memory.
"""

from __future__ import annotations

import time
from dataclasses import replace

from grader.codecs import framing as codecs
from grader.context import ProbeContext
from grader.events import Closed, Reset, Timeout
from grader.probes import queues
from grader.probes.adapter import (
    Adapter,
    DelimiterAdapter,
    LengthPrefixAdapter,
    judge_reply_then_close,
    require,
)
from grader.probes.common import echo_hint, judge_echo, wait_for
from grader.probes.registry import REGISTRY, Param
from grader.probes.stream import ECHO, SUITE
from grader.verdict import Evidence, ProbeFailed, excerpt, mismatch

probe = REGISTRY.probe
STREAMING = ("length-prefix", "delimiter", "fixed")
MIB = 1024 * 1024
#: Bytes accepted beyond an expected reply before a read stops.
SLACK = 65536

def _splits(adapter: Adapter, wire: bytes, variant: int) -> list[int]:
    """Segment sizes that cut ``wire`` (one message) at its framing's structure.

    Length-prefix: the header one byte per segment, then the payload (variant
    0); three header bytes, then the last one with the payload (variant 1).
    Delimiter: the line, then the delimiter alone; half a line, then the rest.
    Fixed: one byte then the rest of the block; two halves.
    """
    if isinstance(adapter, LengthPrefixAdapter):
        width = adapter.codec.header_bytes
        return [1] * width + [len(wire) - width] if variant == 0 else [width - 1, len(wire)]
    if isinstance(adapter, DelimiterAdapter):
        width = len(adapter.codec.delimiter)
        return [len(wire) - width, width] if variant == 0 else [len(wire) // 2, len(wire)]
    return [1, len(wire)] if variant == 0 else [len(wire) // 2, len(wire)]


@probe(SUITE, "framing/split-header", depends=(ECHO,))
def split_header(ctx: ProbeContext) -> None:
    """A message whose framing arrives in pieces is still read as one message and echoed whole.

    Length-prefix: the 4 header bytes one per segment, then the payload; then
    3 header bytes, then the last one with the payload.  Delimiter: the line,
    then its newline alone; then half a line and the rest.  Fixed: one byte,
    then the other 15; then two halves.  Each segment is sent only once the
    server has read the previous one (TCP_NODELAY; the grader watches the
    server's receive queue), so recv(4) or recv(16) does return fewer bytes.
    Source: docs/labs.md §9 ("Assuming recv(4) returns 4 bytes").
    """
    adapter = require(ctx, *STREAMING)
    with ctx.connect(nodelay=True) as conn:
        for variant in (0, 1):
            wire = adapter.frame(adapter.payload(ctx.rng, 16) if adapter.name == "fixed"
                                 else b"split header %d " % variant + adapter.payload(ctx.rng, 20))
            chunks = _splits(adapter, wire, variant)
            pacer = queues.Pacer(ctx, conn)
            sent = conn.send_all(wire, deadline=ctx.reply_deadline(), chunks=chunks, pace=pacer)
            ctx.log(f"message {variant + 1}: {len(wire)} bytes in segments {chunks[:-1]} + rest, "
                    f"{pacer.describe()}: {sent.describe()}")
            result = conn.read_exactly(len(wire), deadline=ctx.reply_deadline())
            try:
                judge_echo(wire, result)
            except ProbeFailed as exc:
                raise ProbeFailed(
                    f"message {variant + 1}, split at its framing: {exc.reason}",
                    hint=adapter.split_hint or exc.hint,
                    evidence=exc.evidence) from None


@probe(SUITE, "framing/coalesced-frames", depends=(ECHO,))
def coalesced_frames(ctx: ProbeContext) -> None:
    """Ten messages sent in one segment each come back, in order.

    One recv() can hold several messages and the start of the next: a server
    must answer every complete message in its buffer and keep the rest.
    Source: docs/labs.md §9 ("coalesced lines").
    """
    adapter = require(ctx, *STREAMING)
    sizes = [1, 3, 16, 100, 7, 500, 2, 16, 60, 9]
    wire = b"".join(adapter.frame(b"%02d:" % index + adapter.payload(ctx.rng, size))
                    for index, size in enumerate(sizes))
    with ctx.connect() as conn:
        sent = conn.send_all(wire, deadline=ctx.reply_deadline())
        ctx.log(f"wrote {len(sizes)} messages, {len(wire)} bytes, in one send: {sent.describe()}")
        result = conn.read_exactly(len(wire), deadline=ctx.reply_deadline())
    if result.complete and result.data == wire:
        return
    hint = echo_hint(wire, result.data, result.end)
    if result.data and wire.startswith(result.data):
        hint = ("only the first message(s) came back: after answering one message, look for "
                "another complete one in the buffer before calling recv() again")
    raise mismatch(
        f"{len(result.data)} of {len(wire)} bytes of 10 coalesced messages came back "
        f"({result.end.describe()})",
        sent=wire, expected=wire, actual=result.data, end=result.end, hint=hint)


@probe(SUITE, "framing/zero-length", depends=(ECHO,))
def zero_length(ctx: ProbeContext) -> None:
    """An empty message is echoed as an empty message, and the connection goes on.

    Length-prefix: a header of 0 and no payload; delimiter: an empty line;
    close: a half-close with no request (the reply is empty, then the close).
    Source: docs/labs.md §9.
    """
    adapter = require(ctx, "length-prefix", "delimiter", "close")
    if not adapter.streaming:
        _empty_request(ctx, adapter)
        return
    with ctx.connect() as conn:
        for label, content in (("the empty message", b""), ("the message after it", b"after empty")):
            try:
                adapter.check(ctx, conn, content)
            except ProbeFailed as exc:
                raise ProbeFailed(
                    f"{label}: {exc.reason}",
                    hint="an empty message is a message: echo it; only recv() == b'' means the "
                         "client is done (do not stop on an empty payload or line)",
                    evidence=exc.evidence) from None


def _empty_request(ctx: ProbeContext, adapter: Adapter) -> None:
    """Close framing: an empty request gets an empty reply and a close; the next client is served."""
    with ctx.connect() as conn:
        conn.shutdown_write()
        ctx.log("SHUT_WR with no request")
        judge_reply_then_close(b"", conn.read_to_eof(deadline=ctx.reply_deadline(), cap=SLACK),
                               what="to an empty request")
    try:
        with ctx.connect() as conn:
            adapter.check(ctx, conn, b"after the empty request")
    except ProbeFailed as exc:
        raise ProbeFailed(f"after an empty request, the next client was not served: {exc.reason}",
                          hint="an empty request is a request: reply (with nothing) and close; "
                               "do not assume it has a first line or word",
                          evidence=exc.evidence) from None


@probe(SUITE, "framing/one-mib-frame", depends=(ECHO,), timeout=40.0,
       params=(Param("bytes", MIB, "bytes", "size of the message"),))
def one_mib_frame(ctx: ProbeContext) -> None:
    """One {bytes} message comes back whole (the grader reads while it writes).

    Length-prefix: a header of 1048576 then the payload; delimiter: a 1 MiB
    line; close: a 1 MiB request.  Source: docs/labs.md §9.
    """
    adapter = require(ctx, "length-prefix", "delimiter", "close")
    size = ctx.param_int("bytes")
    wire = adapter.frame(adapter.payload(ctx.rng, size))
    with ctx.connect() as conn:
        result = adapter.bulk(conn, wire, deadline=ctx.reply_deadline(max(ctx.reply_timeout, 30.0)),
                              idle=ctx.reply_timeout, write_first=False)
        ctx.log(f"sent {result.sent} bytes ({result.send_end.describe()}), "
                f"received {len(result.read.data)} ({result.read.end.describe()})")
        if result.read.complete and result.read.data == wire:
            adapter.after_bulk(ctx, conn, wire)
            return
    got = result.read.data
    hint = adapter.explain(wire, got, echo_hint(wire, got, result.read.end))
    if got and wire.startswith(got):
        hint = ("only part of the message came back: one recv(n) returns at most what has "
                "arrived; loop until all the message's bytes are in")
    raise mismatch(f"{len(got)} of {len(wire)} bytes of a 1 MiB message came back "
                   f"({result.read.end.describe()})",
                   sent=None, expected=wire, actual=got, end=result.read.end, hint=hint)


def _rss(ctx: ProbeContext, when: str) -> int:
    try:
        return ctx.stats().rss
    except ProbeFailed as exc:
        raise ProbeFailed(
            f"the server died {when}",
            hint="a header's length is a claim, not a fact: compare it with the largest message "
                 "you accept before allocating or reading, and close the connection if it is over",
            evidence=exc.evidence) from None


@probe(SUITE, "framing/huge-length-header", depends=(ECHO,), lane="memory", timeout=20.0,
       params=(Param("claim", 2**32 - 1, "bytes", "the length the header claims (capped by "
                     "the header's width)"),
               Param("max_growth_mb", 64.0, "", "MiB the server's memory may grow by")))
def huge_length_header(ctx: ProbeContext) -> None:
    """A header claiming {claim} gets the connection closed, without a large allocation.

    The grader sends a length header of 4294967295 and nothing else, then
    samples the server's resident memory (its whole process tree) until the
    server closes that connection: it must close (FIN or RST) within the
    reply timeout, grow by less than {max_growth_mb} MiB, and serve the next client.  A
    close caused by a failed allocation (a MemoryError on stderr, when a
    memory cap stopped it) fails: the cap, not the server, refused.
    Source: docs/labs.md §9 ("no upper bound").
    """
    adapter = require(ctx, "length-prefix")
    assert isinstance(adapter, LengthPrefixAdapter)
    codec: codecs.LengthPrefix = adapter.codec
    claim = min(ctx.param_int("claim"), 256**codec.header_bytes - 1)
    limit = int(ctx.param_float("max_growth_mb") * MIB)
    with ctx.connect() as warm:  # the threads and buffers of a served client are in the baseline
        adapter.check(ctx, warm, b"before the huge header")
    before = _rss(ctx, "after a normal message")
    peak = before
    stderr_before = _stderr_seen(ctx)
    with ctx.connect() as conn:
        conn.send_all(codec.header(claim), deadline=ctx.reply_deadline())
        ctx.log(f"sent a header claiming {claim} bytes; RSS before {before / MIB:.1f} MiB")
        started = time.monotonic()
        deadline = ctx.reply_deadline()
        end: Closed | Reset | Timeout = Timeout(after=0.0)
        received = 0
        while True:
            window = conn.read_for(max(0.0, min(0.05, deadline - time.monotonic())), cap=SLACK)
            received += len(window.data)
            peak = max(peak, _rss(ctx, f"after a header claiming {claim} bytes"))
            if isinstance(window.end, Closed | Reset):
                end = window.end
                break
            if time.monotonic() >= deadline or not isinstance(window.end, Timeout):
                end = Timeout(after=time.monotonic() - started)
                break
    after = _rss(ctx, f"after a header claiming {claim} bytes")
    peak = max(peak, after)
    growth = peak - before
    figures = (f"resident memory: {before / MIB:.1f} MiB before, peak {peak / MIB:.1f} MiB, "
               f"{after / MIB:.1f} MiB after (growth {growth / MIB:.1f} MiB, limit "
               f"{limit / MIB:g} MiB)")
    ctx.log(figures)
    ctx.log(f"connection: {end.describe()}; {received} bytes came back")
    evidence = Evidence(sent=excerpt(codec.header(claim)), transport=end.describe(),
                        details=(figures,))
    attempted = _memory_error_since(ctx, stderr_before)
    if not attempted and isinstance(end, Closed | Reset):
        # A thread that dies of the MemoryError closes its socket while the exception unwinds
        # and prints the traceback only after: the close can be seen before the stderr.
        attempted = wait_for(lambda: _memory_error_since(ctx, stderr_before) or None,
                             deadline=min(ctx.deadline, time.monotonic() + STDERR_GRACE)) or ""
    if attempted:
        # A cap (RLIMIT_AS locally) stopped the allocation, and the failed attempt closed the
        # connection: that close is not a refusal, and must not pass for one.
        raise ProbeFailed(
            f"the server tried to allocate the {claim} bytes the header claims (MemoryError)",
            hint="never allocate what a header claims: compare the length with the largest "
                 "message you accept first, and close the connection when it is over",
            evidence=replace(evidence, details=(*evidence.details, f"stderr:\n{attempted}")))
    if growth > limit:
        raise ProbeFailed(
            f"resident memory grew by {growth / MIB:.0f} MiB after a header claiming {claim} bytes",
            hint="never allocate what a header claims: compare the length with the largest "
                 "message you accept first, and close the connection when it is over",
            evidence=evidence)
    if isinstance(end, Timeout):
        raise ProbeFailed(
            f"the connection stayed open {end.after:.1f} s after a header claiming {claim} bytes",
            hint="the server waits for bytes that will never come: reject a length over your "
                 "maximum message size and close the connection",
            evidence=evidence)
    try:
        with ctx.connect() as conn:
            adapter.check(ctx, conn, b"after the huge header")
    except ProbeFailed as exc:
        raise ProbeFailed(f"after the huge header, the next client was not served: {exc.reason}",
                          hint="close only the offending connection and keep serving",
                          evidence=exc.evidence) from None


#: Seconds ``huge-length-header`` waits, after a close, for a MemoryError traceback on stderr.
STDERR_GRACE = 1.0


def _stderr_seen(ctx: ProbeContext) -> int:
    """Bytes the server has written to stderr so far."""
    return ctx.program.output().stderr_total if ctx.program is not None else 0


def _memory_error_since(ctx: ProbeContext, seen: int) -> str:
    """The end of the server's stderr when it reported a MemoryError after byte ``seen``, else ""."""
    if ctx.program is None:
        return ""
    output = ctx.program.output()
    if output.stderr_total <= seen:
        return ""
    fresh = output.stderr[-(output.stderr_total - seen):].decode("utf-8", "replace")
    return fresh[-800:] if "MemoryError" in fresh else ""


@probe(SUITE, "framing/truncated-frame", depends=(ECHO,))
def truncated_frame(ctx: ProbeContext) -> None:
    """A message cut short by EOF gets its connection closed and leaves the server serving.

    The grader sends 16-byte content framed, minus its last 6 bytes (half a
    payload, a line without its newline, 10 bytes of a block), then
    half-closes.  Whatever the server sends back, it must close that
    connection and serve the next client.  Source: docs/labs.md §9.
    """
    adapter = require(ctx, *STREAMING)
    wire = adapter.frame(adapter.payload(ctx.rng, 16))
    cut = wire[:-6]
    with ctx.connect() as conn:
        conn.send_all(cut, deadline=ctx.reply_deadline())
        conn.shutdown_write()
        ctx.log(f"sent {len(cut)} of a {len(wire)}-byte message, then SHUT_WR")
        result = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=SLACK)
        ctx.log(f"read {len(result.data)} bytes, ended: {result.end.describe()}")
    if not isinstance(result.end, Closed | Reset):
        raise ProbeFailed(
            "the server did not close a connection whose message was cut short by EOF",
            hint="recv() returning b'' in the middle of a message means the client is gone: "
                 "drop the partial message and close",
            evidence=Evidence(sent=excerpt(cut), transport=result.end.describe()))
    try:
        with ctx.connect() as conn:
            adapter.check(ctx, conn, adapter.one(b"after a truncated message"))
    except ProbeFailed as exc:
        raise ProbeFailed(
            f"after a message cut short by EOF, the next client was not served: {exc.reason}",
            hint="an EOF inside a message must end that connection, not the server: catch it "
                 "(e.g. the exception your recv_exactly raises), close, keep serving",
            evidence=exc.evidence) from None


@probe(SUITE, "framing/reply-after-half-close", depends=(ECHO,))
def reply_after_half_close(ctx: ProbeContext) -> None:
    """Close framing: nothing comes back before the client's half-close; then the whole reply.

    The request is everything up to the half-close, so a reply before it
    answers a request the server has not seen the end of.  The grader waits
    the reply timeout for premature data, then half-closes.  Source: docs/labs.md
    §9 ("the request is everything
    the client sends before its half-close").
    """
    adapter = require(ctx, "close")
    wire = adapter.frame(b"request, then wait: " + adapter.payload(ctx.rng, 40))
    with ctx.connect() as conn:
        conn.send_all(wire, deadline=ctx.reply_deadline())
        early = conn.read_some(deadline=ctx.reply_deadline(), cap=SLACK)
        ctx.log(f"before the half-close: {len(early.data)} bytes ({early.end.describe()})")
        if early.data:
            raise ProbeFailed(
                f"{len(early.data)} bytes came back before the client's half-close",
                hint="the request ends at the client's half-close (recv() returns b''): read "
                     "until then, and only then reply",
                evidence=Evidence(sent=excerpt(wire), actual=excerpt(early.data),
                                  transport="no half-close sent yet"))
        if not isinstance(early.end, Timeout):
            raise ProbeFailed(
                "the server ended the connection before the client's half-close",
                hint="keep reading until recv() returns b''; then reply and close",
                evidence=Evidence(sent=excerpt(wire), transport=early.end.describe()))
        adapter.expect_reply(ctx, conn, wire)

