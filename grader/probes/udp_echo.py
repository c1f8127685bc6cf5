"""Probes for UDP echo servers (suite ``udp-echo``; docs/labs.md §6).

Theory of operation: the grader is the client, with one UDP socket per
simulated client (:class:`grader.udp.UdpPeer`).  The shared datagram probes
(:mod:`grader.probes.datagram`) cover readiness, the first answered
datagram, several clients and idle CPU; this module adds what is particular
to echoing: boundaries kept, the empty datagram, the largest datagram, any
bytes, and a burst.  UDP promises neither order nor delivery, so the
boundary probe compares the replies as a multiset, and the burst probe
counts what came back against a share (99% by default): on loopback a
correct server loses nothing, because the burst is paced by a window of
unanswered datagrams (64 by default) that never overflows a default
receive buffer, and the grader's own buffer is enlarged.
"""

from __future__ import annotations

import math
import time

from grader.context import ProbeContext
from grader.events import Reset
from grader.probes import datagram
from grader.probes.common import printable, text
from grader.probes.datagram import DatagramLab, check_reply, judge_reply, peer
from grader.probes.registry import REGISTRY, Param
from grader.udp import MAX_DATAGRAM
from grader.verdict import Evidence, ProbeFailed

SUITE = "udp-echo"
SOURCE = "docs/labs.md §6"
probe = REGISTRY.probe


def _request(ctx: ProbeContext, index: int) -> bytes:
    return f"datagram {index}: ".encode() + text(ctx.rng, 8, 40)


def datagram_hint(sent: bytes, expected: bytes, got: bytes) -> str:
    """The likely bug behind an echoed datagram that differs from the one sent."""
    if len(got) < len(sent) and sent.startswith(got):
        return (f"only the first {len(got)} bytes came back: recvfrom({len(got)}) keeps the "
                f"start of a bigger datagram and drops the rest; use recvfrom(65535)")
    if got == sent + b"\n":
        return "it adds a newline: send back exactly the datagram received"
    if got and got == sent.strip():
        return "it strips whitespace: send back exactly the datagram received"
    if len(got) == len(sent):
        return "bytes were changed: decoding and re-encoding as text? echo the raw bytes"
    return "send back exactly the datagram received, as one datagram"


LAB = DatagramLab(suite=SUITE, source=SOURCE, category="echo", request=_request,
                  reply=lambda ctx, request: request, hint=datagram_hint)
datagram.register(LAB)
BASE = LAB.base


@probe(SUITE, "echo/boundaries", depends=(BASE,),
       params=(Param("sizes", (5, 1400, 3000), "bytes", "sizes of the datagrams sent back to back"),))
def boundaries(ctx: ProbeContext) -> None:
    """Datagrams of {sizes} sent back to back come back as datagrams of the same sizes and bytes.

    UDP keeps message boundaries: each datagram is echoed with one
    sendto(), neither split nor merged (order is not required: UDP does not
    promise it). Source: docs/labs.md §6 ("three datagrams in means three
    datagrams of the same sizes out").
    """
    sizes = list(ctx.param_ints("sizes"))
    payloads = [f"part {i} ".encode() + text(ctx.rng, size, size) for i, size in enumerate(sizes)]
    payloads = [p[:size] for p, size in zip(payloads, sizes, strict=True)]
    with peer(ctx) as client:
        for payload in payloads:
            client.send(payload, deadline=ctx.reply_deadline())
        deadline = ctx.reply_deadline()
        got: list[bytes] = []
        while len(got) < len(payloads):
            result = client.receive(deadline=deadline)
            if not result.complete:
                break
            got.append(result.data)
        got.extend(result.data for result in client.drain())
    ctx.log(f"sent sizes {[len(p) for p in payloads]}, got {[len(g) for g in got]}")
    if sorted(got) == sorted(payloads):
        if got != payloads:
            ctx.log("the replies came back in another order (allowed: UDP does not promise order)")
        return
    if len(got) > len(payloads):
        hint = "a reply was split into several datagrams: echo each datagram with one sendto()"
    elif cut := [(p, g) for g in got if g not in payloads for p in payloads
                 if len(g) < len(p) and p.startswith(g)]:
        hint = datagram_hint(cut[0][0], cut[0][0], cut[0][1])
    elif len(got) < len(payloads) and sum(map(len, got)) == sum(map(len, payloads)):
        hint = "datagrams were merged: echo each datagram on its own, with one sendto()"
    else:
        hint = "echo each datagram, unchanged, as one datagram"
    raise ProbeFailed(
        f"sent {len(payloads)} datagrams of {', '.join(map(str, sizes))} bytes; got "
        f"{len(got)} back" + (f" of {', '.join(str(len(g)) for g in got)} bytes" if got else ""),
        hint=hint,
        evidence=Evidence(expected=f"{len(payloads)} datagrams: sizes {sorted(sizes)}",
                          actual=f"{len(got)} datagrams: sizes {sorted(len(g) for g in got)}"),
    )


@probe(SUITE, "echo/empty-datagram", depends=(BASE,))
def empty_datagram(ctx: ProbeContext) -> None:
    """An empty datagram comes back as an empty datagram, and the server keeps serving.

    recvfrom() returning b'' is a datagram of length zero, not the end of a
    stream: UDP has no end. Source: docs/labs.md §6 ("empty datagrams").
    """
    with peer(ctx) as client:
        client.send(b"", deadline=ctx.reply_deadline())
        result = client.receive(deadline=ctx.reply_deadline())
        ctx.log(f"sent an empty datagram: {result.end.describe()}, {len(result.data)} bytes")
        try:
            judge_reply(ctx, b"", b"", result, hint=datagram_hint, what="echo of the empty datagram")
        except ProbeFailed as exc:
            hint = exc.hint
            if not result.complete:
                hint = ("an empty datagram was not answered: b'' from recvfrom() is an empty "
                        "datagram, not the end of a stream; echo it like any other")
            raise ProbeFailed(exc.reason, hint=hint, evidence=exc.evidence) from None
        try:
            check_reply(ctx, LAB, client, b"after the empty one")
        except ProbeFailed as exc:
            raise ProbeFailed(f"after an empty datagram: {exc.reason}",
                              hint="it stopped serving after an empty datagram ('if not data: "
                                   "break'?): keep serving", evidence=exc.evidence) from None


@probe(SUITE, "echo/max-datagram", depends=(BASE,),
       params=(Param("bytes", MAX_DATAGRAM, "", "size of the datagram"),))
def max_datagram(ctx: ProbeContext) -> None:
    """A datagram of {bytes} bytes (65,507 is the IPv4 maximum) comes back whole.

    Source: docs/labs.md §6 ("up to 65507 bytes"); recvfrom(1024) would keep
    only its first 1,024 bytes.
    """
    size = ctx.param_int("bytes")
    payload = printable(ctx.rng, size)
    with peer(ctx) as client:
        check_reply(ctx, LAB, client, payload, what=f"echo of the {size}-byte datagram")


@probe(SUITE, "echo/binary", depends=(BASE,))
def binary(ctx: ProbeContext) -> None:
    """Datagrams of all 256 byte values and of invalid UTF-8 come back unchanged.

    Source: docs/labs.md §6 (each datagram is sent back unchanged).
    """
    with peer(ctx) as client:
        for label, payload in (("all byte values", bytes(range(256))),
                               ("invalid UTF-8", b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0")):
            try:
                check_reply(ctx, LAB, client, payload)
            except ProbeFailed as exc:
                hint = exc.hint
                if not exc.evidence.actual or exc.evidence.actual == "no datagram":
                    hint = ("no reply to non-text bytes: decoding them as UTF-8 crashes; "
                            "echo the raw bytes")
                raise ProbeFailed(f"{label}: {exc.reason}", hint=hint,
                                  evidence=exc.evidence) from None


@probe(SUITE, "load/burst", depends=(BASE,), timeout=30.0, params=(
    Param("count", 1000, "count", "datagrams in the burst"),
    Param("window", 64, "count", "most datagrams unanswered at a time"),
    Param("seconds", 10.0, "seconds", "time the burst may take"),
    Param("min_share", 0.99, "share", "share of the datagrams that must come back"),
    Param("patience", 0.5, "seconds", "wait before an unanswered datagram counts as lost")))
def burst(ctx: ProbeContext) -> None:
    """A burst of {count} datagrams is echoed: at least {min_share} come back within {seconds}.

    The grader sends as fast as the server answers, with at most {window}
    datagrams unanswered at a time. Source: docs/labs.md §6 ("bursts").
    """
    count = ctx.param_int("count")
    window = ctx.param_int("window")
    budget = ctx.param_float("seconds")
    share = ctx.param_float("min_share")
    patience = ctx.param_float("patience")
    payloads = [f"burst {i:04d} ".encode() + printable(ctx.rng, ctx.rng.randint(8, 56))
                for i in range(count)]
    index = {payload: i for i, payload in enumerate(payloads)}
    received: set[int] = set()
    damaged = sent = written_off = 0
    ended = "all answered"
    started = time.monotonic()
    deadline = min(ctx.deadline - 1.0, started + budget)
    with peer(ctx, rcvbuf=4 * 1024 * 1024) as client:
        while len(received) < count:
            gone = False
            while sent < count and sent - len(received) - written_off < window:
                if isinstance(client.send(payloads[sent], deadline=deadline), Reset):
                    gone = True
                    break
                sent += 1
            result = client.receive(deadline=min(deadline, time.monotonic() + patience))
            if gone or isinstance(result.end, Reset):
                ended = "the server went away (ICMP port unreachable)"
                break
            if result.complete:
                number = index.get(result.data)
                if number is None:
                    damaged += 1
                else:
                    received.add(number)
                continue
            if time.monotonic() >= deadline:
                ended = f"the {budget:g} s budget ran out"
                break
            if sent == count:
                ended = f"nothing more came back within {patience:g} s"
                break
            written_off = sent - len(received)  # unanswered for a while: count them as lost
    elapsed = time.monotonic() - started
    need = math.ceil(share * count)
    ctx.log(f"sent {sent}, echoed {len(received)}, damaged {damaged}, in {elapsed:.2f} s "
            f"({ended})")
    if len(received) >= need:
        return
    slow = "budget" in ended
    raise ProbeFailed(
        f"only {len(received)} of {count} datagrams were echoed ({len(received) / count:.1%}; "
        f"at least {share:.0%} needed): {ended}",
        hint="serve datagrams in a tight blocking loop: recvfrom() then sendto() at once; no "
             "sleep between datagrams, no polling" if slow else
             "every datagram must be answered: do not drop datagrams under load",
        evidence=Evidence(expected=f">= {need} of {count} echoed",
                          actual=f"{len(received)} echoed, {damaged} damaged, {sent} sent, "
                                 f"{elapsed:.2f} s"),
    )
