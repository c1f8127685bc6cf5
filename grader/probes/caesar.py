"""Probes for the Caesar-cipher server (suite ``caesar``; docs/labs.md §8).

Theory of operation: the grader is the client.  Each probe opens its own
connections, sends requests encoded by :mod:`grader.codecs.caesar` with the
assignment's ``[protocol]`` strings (``terminator``, ``encrypt``,
``decrypt``, ``shift_digits``, ``error``) and compares each reply with the
result the codec computes, byte for byte.  Texts and shifts that are not
fixed by the requirement come from the probe's seeded generator.  The
robustness and resource probes are the shared ones of
:mod:`grader.probes.generic`, driven by one valid request per session.

Requirement text is quoted in each docstring; the first sentence is the
summary shown in listings.
"""

from __future__ import annotations

from grader.codecs import caesar
from grader.context import ProbeContext
from grader.events import Closed, Overflow, Reset, Timeout
from grader.net import Conn
from grader.probes import generic
from grader.probes.common import register_startup
from grader.probes.queues import Pacer
from grader.probes.registry import REGISTRY, Param
from grader.verdict import ProbeError, ProbeFailed, mismatch

SUITE = "caesar"
SOURCE = "docs/labs.md §8"
ENCRYPT = "cipher/encrypt"

register_startup(SUITE)
probe = REGISTRY.probe

_LOWER = b"abcdefghijklmnopqrstuvwxyz"


def protocol(ctx: ProbeContext) -> caesar.Protocol:
    """The assignment's Caesar protocol strings (defaults: docs/labs.md §8); ProbeError if invalid."""
    table = ctx.protocol
    try:
        return caesar.Protocol(
            terminator=str(table.get("terminator", ".")).encode(),
            encrypt=str(table.get("encrypt", "e")).encode(),
            decrypt=str(table.get("decrypt", "d")).encode(),
            digits=int(table.get("shift_digits", caesar.SHIFT_DIGITS)),
            error=str(table.get("error", "ERR.")).encode(),
        )
    except (TypeError, ValueError) as exc:
        raise ProbeError(f"assignment [protocol] table is invalid: {exc}") from None


def _words(ctx: ProbeContext, low: int, high: int) -> bytes:
    """Seeded lower-case words separated by spaces, ``low``-``high`` bytes long."""
    size = ctx.rng.randint(low, high)
    return bytes(ctx.rng.choice(_LOWER + b"     ") for _ in range(size)).strip() or b"text"


def ask(
    ctx: ProbeContext,
    conn: Conn,
    request: bytes,
    expected: bytes,
    *,
    hint: str,
    chunks: list[int] | None = None,
    gap: float = 0.0,
    pace: Pacer | None = None,
    wait: float | None = None,
) -> None:
    """Send ``request`` (split by ``chunks``), require the reply ``expected`` (terminator included).

    ``hint`` explains a wrong result; the other failure shapes (ERR for a
    valid request, no reply, a crash) get their own hints.  ``wait`` is the
    reply timeout in seconds (default: the assignment's).  Raises ProbeFailed.
    """
    proto = protocol(ctx)
    sent = conn.send_all(request, deadline=ctx.reply_deadline(wait), chunks=chunks, gap=gap,
                         pace=pace)
    result = conn.read_until(proto.terminator, deadline=ctx.reply_deadline(wait),
                             cap=len(expected) + 1024)
    paced = "" if pace is None else f", {pace.describe()}"
    ctx.log(f"sent {len(request)} bytes ({sent.describe()}{paced}), got {len(result.data)} "
            f"({result.end.describe()})")
    if result.complete and result.data == expected:
        return
    got = result.data
    if got == proto.error:
        why = ("one recv() taken as the whole request? keep reading until the "
               f"{proto.terminator.decode()!r} arrives" if chunks else
               "check how OP and the SHIFT digits are parsed")
        hint = f"a valid request was answered with {proto.error.decode()!r}: {why}"
    elif not got and isinstance(result.end, Closed | Reset):
        hint = ("the server closed the connection without replying: did its handler crash? "
                "(see the stderr tail)")
    elif not got and isinstance(result.end, Timeout):
        hint = (f"no reply: it must read until the {proto.terminator.decode()!r} that ends the "
                f"request, then send the result and {proto.terminator.decode()!r}")
    elif isinstance(result.end, Overflow) or (got and not got.endswith(proto.terminator)):
        hint = f"the reply must end with {proto.terminator.decode()!r}"
    raise mismatch(
        f"wrong reply to {request[:40]!r}{'...' if len(request) > 40 else ''}",
        sent=request, expected=expected, actual=got, end=result.end, hint=hint,
    )


def check(ctx: ProbeContext, op: str, shift: int, text: bytes, *, hint: str) -> None:
    """On a new connection, request ``op``/``shift``/``text`` and require the right result."""
    proto = protocol(ctx)
    with ctx.connect() as conn:
        ask(ctx, conn, proto.request(op, shift, text),
            proto.reply(caesar.apply(op, shift, text)), hint=hint)


@probe(SUITE, ENCRYPT, weight=2, depends=("startup/listens",))
def encrypt(ctx: ProbeContext) -> None:
    """Encryption shifts each letter a-z SHIFT places right ('e03hello.' gets 'khoor.').

    Source: docs/labs.md §8.
    """
    hint = "encrypt moves each letter a-z SHIFT places right, wrapping z to a"
    check(ctx, "e", 3, b"hello", hint=hint)
    check(ctx, "e", ctx.rng.randint(1, 25), _words(ctx, 20, 60), hint=hint)


@probe(SUITE, "cipher/decrypt", depends=(ENCRYPT,))
def decrypt(ctx: ProbeContext) -> None:
    """Decryption shifts each letter a-z SHIFT places left ('d03khoor.' gets 'hello.').

    Source: docs/labs.md §8.
    """
    hint = "decrypt (OP d) moves each letter a-z SHIFT places left, wrapping a to z"
    check(ctx, "d", 3, b"khoor", hint=hint)
    check(ctx, "d", ctx.rng.randint(1, 25), _words(ctx, 20, 60), hint=hint)


@probe(SUITE, "cipher/round-trip", depends=(ENCRYPT,))
def round_trip(ctx: ProbeContext) -> None:
    """Decrypting an encrypted text with the same shift gives the text back. Source: docs/labs.md §8."""
    proto = protocol(ctx)
    shift = ctx.rng.randint(1, 25)
    plain = _words(ctx, 40, 120)
    secret = caesar.apply("e", shift, plain)
    hint = "decrypt must undo encrypt: shift left by the same amount"
    for op, text, want in (("e", plain, secret), ("d", secret, plain)):
        with ctx.connect() as conn:
            ask(ctx, conn, proto.request(op, shift, text), proto.reply(want), hint=hint)


def _shift_probe(ctx: ProbeContext, shift: int, hint: str) -> None:
    text = b"abcdefghijklmnopqrstuvwxyz the quick brown fox"
    check(ctx, "e", shift, text, hint=hint)
    check(ctx, "d", shift, text, hint=hint)


@probe(SUITE, "shift/00", depends=(ENCRYPT,))
def shift_00(ctx: ProbeContext) -> None:
    """Shift 00 leaves the text unchanged (it is a valid shift). Source: docs/labs.md §8."""
    _shift_probe(ctx, 0, "shift 00 is valid and changes nothing")


@probe(SUITE, "shift/26", depends=(ENCRYPT,))
def shift_26(ctx: ProbeContext) -> None:
    """Shift 26 is a full turn: the text comes back unchanged. Source: docs/labs.md §8 ("taken mod 26")."""
    _shift_probe(ctx, 26, "take SHIFT modulo 26: 26 is a full turn, and it is a valid shift")


@probe(SUITE, "shift/99", depends=(ENCRYPT,))
def shift_99(ctx: ProbeContext) -> None:
    """Shift 99 acts as 99 mod 26 = 21. Source: docs/labs.md §8 ("taken mod 26")."""
    _shift_probe(ctx, 99, "take SHIFT modulo 26 (99 acts as 21); wrapping once is not enough")


@probe(SUITE, "cipher/non-letters", depends=(ENCRYPT,))
def non_letters(ctx: ProbeContext) -> None:
    """Only a-z are shifted: upper case, digits, punctuation, white space and non-ASCII stay unchanged.

    Source: docs/labs.md §8 ("Only the letters a-z are shifted; everything else is left unchanged").
    """
    text = ("Hello, World! ABC XYZ 0123456789 ~!@#$%^&*()_+-=[]{};:'\",<>/?\\|` \t\r\n"
            "caf\u00e9 \u00fcber stra\u00dfe \u00f8 \u65e5\u672c z").encode()
    text = text.replace(protocol(ctx).terminator, b"")
    hint = ("only the bytes a-z change; upper case, digits, punctuation, white space and "
            "non-ASCII characters (str.islower() is True for '\u00e9') must pass unchanged")
    check(ctx, "e", 5, text, hint=hint)
    check(ctx, "d", 5, text, hint=hint)


@probe(SUITE, "partial/split-request", depends=(ENCRYPT,))
def split_request(ctx: ProbeContext) -> None:
    """A request written one byte per segment (TCP_NODELAY, each once the server has read the
    one before) gets the right reply.

    One recv() is not one request: the server reads until the terminator.
    Source: docs/labs.md §8 ("one recv taken as the whole request").
    """
    proto = protocol(ctx)
    shift, text = ctx.rng.randint(1, 25), b"split " + _words(ctx, 20, 30)
    request = proto.request("e", shift, text)
    with ctx.connect(nodelay=True) as conn:
        ask(ctx, conn, request, proto.reply(caesar.apply("e", shift, text)),
            chunks=[1] * len(request), gap=0.002, pace=Pacer(ctx, conn),
            hint="keep calling recv() until the terminator arrives; one recv() is not one request")


@probe(SUITE, "partial/long-text", depends=(ENCRYPT,), timeout=30.0,
       params=(Param("bytes", 256 * 1024, "bytes", "length of the text"),))
def long_text(ctx: ProbeContext) -> None:
    """A {bytes} text in one request gets its whole result back.

    Source: docs/labs.md §8 ("TEXT is anything except ., with no length limit").
    """
    proto = protocol(ctx)
    size = ctx.param_int("bytes")
    unit = _words(ctx, 1000, 1000) + b" "
    text = (unit * (size // len(unit) + 1))[:size]
    shift = ctx.rng.randint(1, 25)
    with ctx.connect() as conn:
        ask(ctx, conn, proto.request("e", shift, text), proto.reply(caesar.apply("e", shift, text)),
            wait=max(ctx.reply_timeout, 10.0),
            hint="read until the terminator however many recv() calls it takes, and send the "
                 "whole result with sendall()")


def _malformed_cases(proto: caesar.Protocol) -> list[tuple[str, bytes]]:
    bad_op = next(bytes([c]) for c in b"xqz?" if bytes([c]) not in (proto.encrypt, proto.decrypt))
    term = proto.terminator
    return [
        ("an unknown operation", bad_op + b"0" * proto.digits + b"hello" + term),
        ("a one-digit shift", proto.encrypt + b"3hello" + term),
        ("no shift at all", proto.encrypt + b"hello" + term),
        ("an empty request", term),
    ]


@probe(SUITE, "errors/malformed", depends=(ENCRYPT,))
def malformed(ctx: ProbeContext) -> None:
    """A malformed request gets 'ERR.' and the server keeps serving the next client.

    Tried: an unknown operation, a one-digit shift, no shift, an empty
    request, each on its own connection; then a valid request.  Source:
    docs/labs.md §8 ("A malformed request gets the reply ERR., and the server keeps serving").
    """
    proto = protocol(ctx)
    for label, request in _malformed_cases(proto):
        with ctx.connect() as conn:
            conn.send_all(request, deadline=ctx.reply_deadline())
            result = conn.read_exactly(len(proto.error), deadline=ctx.reply_deadline())
            ctx.log(f"{label} {request!r}: got {result.data!r} ({result.end.describe()})")
            if result.complete and result.data == proto.error:
                continue
            crashed = not result.data and isinstance(result.end, Closed | Reset)
            raise mismatch(
                f"{label} ({request!r}) did not get {proto.error.decode()!r}",
                sent=request, expected=proto.error, actual=result.data, end=result.end,
                hint="the handler crashed on it (int() of a non-number? an index past the end?): "
                     "check the request and answer ERR." if crashed else
                     f"a malformed request gets exactly {proto.error.decode()!r}",
            )
    try:
        check(ctx, "e", 4, b"still serving", hint="after malformed requests, serve the next one")
    except ProbeFailed as exc:
        raise ProbeFailed(f"after the malformed requests: {exc.reason}", hint=exc.hint,
                          evidence=exc.evidence) from None


def _session(ctx: ProbeContext, conn: Conn, index: int) -> None:
    proto = protocol(ctx)
    text = f"client {index} says hello".encode()
    ask(ctx, conn, proto.request("e", 7, text), proto.reply(caesar.apply("e", 7, text)),
        hint="encrypt moves each letter a-z SHIFT places right")


def _opening(ctx: ProbeContext, conn: Conn) -> None:
    proto = protocol(ctx)
    conn.send_all(proto.request("e", 3, b"hello")[: -len(proto.terminator)],
                  deadline=ctx.reply_deadline())


def _request(ctx: ProbeContext, index: int) -> bytes:
    return protocol(ctx).request("e", 7, f"client {index} says hello".encode())


# No reset-during-reply here: the reply would have to outgrow the kernel's send buffer (4 MiB),
# so the request too, and a handout-style server that builds the request with ``data +=
# chunk`` spends minutes on 8 MiB, a slowness that would then fail every later probe.
generic.register(generic.ServerLab(suite=SUITE, source=SOURCE, session=_session, opening=_opening,
                                   depends=(ENCRYPT,), request=_request),
                 which=(*generic.ALL, generic.RESET_BEFORE_REPLY))
