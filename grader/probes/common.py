"""Pieces every probe suite shares: the startup probe, echo checks, waiting, hints.

Theory of operation: the startup probe turns the runner's readiness result
into a verdict, so every server suite registers the same one with
:func:`register_startup`.  :func:`check_echo` sends one message and judges
the reply, with a hint chosen from the shape of the mismatch (a missing
tail, an added newline, a reset...).  :func:`wait_for` polls a real
condition of the program (its sockets, its fd count) until a deadline.
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from grader.context import ProbeContext
from grader.events import Closed, Done, Event, Overflow, Reset, Timeout
from grader.launch.base import Program, describe_state
from grader.net import Conn, ReadResult
from grader.probes.registry import REGISTRY
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt, mismatch

T = TypeVar("T")

#: Printable ASCII (space to '~', and newlines: text has lines, and a line-framed stream
#: must carry many messages): what probes send when byte values are not their subject.
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\n"
_TO_PRINTABLE = bytes(_PRINTABLE[b % len(_PRINTABLE)] for b in range(256))


def keystream(rng: random.Random, size: int) -> bytes:
    """``size`` seeded random bytes: AES-128 in counter mode, keyed by 32 bytes drawn from ``rng``.

    The same ``rng`` state gives the same bytes, so a run replays from its seed; it draws 32
    bytes from ``rng`` whatever ``size`` is.  It takes about 0.4 of the time of
    ``rng.randbytes`` (16 MiB: 20 ms against 51 ms on the project's 2-core machine, most of
    it the first touch of the new pages; ``benchmarks/bench_payload.py``), which counts where
    every grading of a stream lab makes several 16 MiB payloads.  The bytes only need to be
    unpredictable to the program and reproducible by the grader, not secret.
    """
    return _keystream(rng.randbytes(32), size)


def _keystream(key: bytes, size: int) -> bytes:
    """``size`` bytes of AES-128 in counter mode under the 32-byte ``key`` (key, then nonce)."""
    # cryptography (already a dependency, for the TLS lab) is imported on first use: about
    # 12 ms that a grading moving no data does not pay
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.AES(key[:16]), modes.CTR(key[16:])).encryptor()
    stream = encryptor.update(bytes(size))
    encryptor.finalize()
    return stream


#: Payloads of at least this many bytes are kept for reuse (:func:`printable`, :func:`binary`).
KEEP_FROM = 1024 * 1024
#: Bytes of payloads kept at most; the least recently used go first.
KEEP_AT_MOST = 64 * 1024 * 1024
_kept: OrderedDict[tuple[bytes, int, bool], bytes] = OrderedDict()
_kept_lock = threading.Lock()


def _kept_payload(rng: random.Random, size: int, *, as_text: bool) -> bytes:
    """:func:`keystream`'s bytes (translated to printable text when ``as_text``), kept when
    big (:data:`KEEP_FROM`) by the key drawn from ``rng``, the size and the kind."""
    if size < KEEP_FROM:
        made = keystream(rng, size)
        return made.translate(_TO_PRINTABLE) if as_text else made
    key = (rng.randbytes(32), size, as_text)  # what keystream() draws
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    made = _keystream(key[0], size)
    if as_text:
        made = made.translate(_TO_PRINTABLE)
    with _kept_lock:
        _kept[key] = made
        total = sum(len(kept) for kept in _kept.values())
        while total > KEEP_AT_MOST and len(_kept) > 1:
            total -= len(_kept.popitem(last=False)[1])
    return made


def printable(rng: random.Random, size: int) -> bytes:
    """``size`` seeded random bytes of printable ASCII text (one newline in 128 bytes on average).

    Probes about sizes, splits, backpressure or concurrency send these, so a
    program that decodes what it reads as text fails only the probes about
    byte values (``echo/binary`` and the like), not every probe that moves
    data: one bug, one failure.  The bytes come from :func:`keystream`.

    Payloads of :data:`KEEP_FROM` bytes or more are kept (up to :data:`KEEP_AT_MOST` bytes
    in all) by the key drawn from ``rng`` and the size, so gradings that share a seed (every
    submission of a batch, the repeated gradings of a test run) make each big payload once
    (a 16 MiB one costs about 40 ms of CPU, most of it the first touch of its pages); ``rng``
    draws the same 32 bytes either way, so what follows is unchanged.
    """
    return _kept_payload(rng, size, as_text=True)


def binary(rng: random.Random, size: int) -> bytes:
    """``size`` seeded random bytes of every value (:func:`keystream`): the content of a
    binary file or body, whose bytes are the probe's subject.  Big ones are kept as
    :func:`printable`'s are, and ``rng`` draws 32 bytes whatever ``size`` is."""
    return _kept_payload(rng, size, as_text=False)


#: What :func:`text` is made of: letters, digits, space and ``,.-``.
_ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-"
_TO_ALPHABET = bytes(_ALPHABET[b % len(_ALPHABET)] for b in range(256))


def text(rng: random.Random, low: int, high: int) -> bytes:
    """Seeded random text of ``low`` to ``high`` bytes (letters, digits, space, ``,.-``; no
    newline): the body of a message whose framing the probe adds."""
    return rng.randbytes(rng.randint(low, high)).translate(_TO_ALPHABET)


#: Poll interval when waiting on a program's state, in seconds.
POLL = 0.01


def startup(ctx: ProbeContext) -> None:
    """The program starts and listens where it was told before the startup deadline."""
    start = ctx.start
    if start is None:
        raise ProbeError("the runner recorded no start result")
    if start.status == "launch-error":
        raise ProbeError(start.reason)
    ctx.log(f"started: {start.status} after {start.elapsed:.3f} s")
    if start.note:
        ctx.log(start.note)
    if not start.ready:
        raise ProbeFailed(start.reason, hint=start.hint, evidence=start.evidence)


def register_startup(suite: str, *, name: str = "startup/listens", doc: str | None = None) -> None:
    """Register :func:`startup` as probe ``name`` of ``suite`` (weight 1, required)."""

    def probe(ctx: ProbeContext) -> None:
        startup(ctx)

    REGISTRY.probe(suite, name, timeout=30.0, requirement=doc or (
        "The server starts and listens on the host and port given on its command line "
        "before the startup deadline. Source: docs/labs.md (\"Starting programs\")."))(probe)


def wait_for(
    predicate: Callable[[], T | None], *, deadline: float, interval: float = POLL
) -> T | None:
    """Call ``predicate`` until it returns a non-None value or ``deadline`` passes."""
    while True:
        value = predicate()
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(interval)  # polls a real condition, bounded by the deadline


def echo_hint(sent: bytes, got: bytes, end: Event) -> str:
    """The likely bug behind an echo that differs from what was sent."""
    if isinstance(end, Overflow):
        return "it sends more than it received: echo exactly the bytes read, nothing else"
    if isinstance(end, Reset):
        if got and sent.startswith(got):
            return ("it closed the connection with data still unread (the kernel then sends "
                    "RST): one recv() per connection? loop until recv() returns b''")
        return ("the server reset the connection: an unhandled exception in its handler? "
                "(see the stderr tail)")
    if got == sent + b"\n" or (got.rstrip(b"\n") == sent and len(got) > len(sent)):
        return "it adds a newline: send back exactly the bytes received"
    if sent.strip() == got or sent.rstrip(b"\r\n") == got:
        return "it strips whitespace or newlines (.strip()?): send back exactly the bytes received"
    if got and sent.startswith(got):
        if isinstance(end, Closed):
            return ("it closed after echoing part of the data: loop on recv() until it "
                    "returns b'' instead of one recv per connection")
        return ("only part came back: one recv() taken as the whole message, or send() "
                "instead of sendall() dropping the rest")
    if not got and isinstance(end, Closed):
        return "it closed the connection without echoing"
    if not got and isinstance(end, Timeout):
        return "nothing came back: does it send what it receives, on this connection?"
    if len(got) == len(sent):
        return "bytes were changed: decoding and re-encoding as text? echo the raw bytes"
    return "send back exactly the bytes received, in order"


def judge_echo(sent: bytes, result: ReadResult, *, what: str = "echo") -> None:
    """Raise :class:`ProbeFailed` unless ``result`` holds exactly ``sent``."""
    if result.complete and result.data == sent:
        return
    raise mismatch(
        f"the {what} differs from what was sent ({len(result.data)} of {len(sent)} bytes back; "
        f"{result.end.describe()})",
        sent=sent, expected=sent, actual=result.data, end=result.end,
        hint=echo_hint(sent, result.data, result.end),
    )


def check_echo(ctx: ProbeContext, conn: Conn, message: bytes, *, what: str = "echo") -> None:
    """Send ``message`` on ``conn`` and require it back, byte for byte, before the reply deadline."""
    sent = conn.send_all(message, deadline=ctx.reply_deadline())
    if isinstance(sent, Reset | Timeout):
        raise ProbeFailed(
            f"could not send the message: {sent.describe()}",
            hint="the server stopped reading or reset the connection",
        )
    result = conn.read_exactly(len(message), deadline=ctx.reply_deadline())
    ctx.log(f"sent {excerpt(message, limit=40)}, got {len(result.data)} bytes back "
            f"({result.end.describe()})")
    if result.complete and result.data == message:
        extra = conn.read_for(0.0)  # bytes already queued beyond the echo show up at once
        if extra.data:
            raise mismatch(
                f"the {what} has {len(extra.data)} extra bytes after the message",
                sent=message, expected=message, actual=message + extra.data, end=None,
                hint=echo_hint(message, message + extra.data, Done()),
            )
        return
    judge_echo(message, result, what=what)


def file_digest(path: Path) -> tuple[int, str] | None:
    """``(size in bytes, SHA-256 hex)`` of the file at ``path``, or None when it cannot be read
    (not there yet, or not a file): how the transfer labs compare a stored file with what was
    sent (docs/labs.md §10, §13)."""
    try:
        with path.open("rb") as handle:
            return os.fstat(handle.fileno()).st_size, hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def accept_client(ctx: ProbeContext, listener: socket.socket, program: Program, *,
                  wait: float, hint: str) -> Conn:
    """The client's connection on ``listener``, accepted within ``wait`` seconds (bounded by
    the probe's deadline); raises :func:`never_connected`'s ProbeFailed (with ``hint``) when it
    does not come.

    A client starved of CPU at that deadline is waited for longer
    (:meth:`grader.context.ProbeContext.while_starved`; ProbeError when it stays starved).
    Source: docs/labs.md ("Starting programs": a client connects within 5 s of its start).
    """
    conn = ctx.accept(listener, deadline=ctx.reply_deadline(wait))
    if conn is None:
        conn = ctx.while_starved(program, waited=wait, what="no connection",
                                 attempt=lambda until: ctx.accept(listener, deadline=until))
    if conn is None:
        raise never_connected(ctx, program, hint=hint)
    return conn


def never_connected(ctx: ProbeContext, program: Program, *, hint: str) -> ProbeFailed:
    """The failure of a client that did not connect to the grader by the deadline: its state
    at that moment (:func:`grader.launch.base.describe_state`, so a client starved of CPU is
    told from one blocked elsewhere), then its exit status and stderr tail once it has had
    0.5 s more to exit."""
    state = describe_state(program.pids())
    run = ctx.finish_client(program, timeout=0.5)
    return ProbeFailed("the client never connected", hint=hint,
                       evidence=Evidence(actual=f"exit status {run.status}", details=(
                           f"at the deadline: {state}",
                           "stderr:\n" + run.stderr.decode("utf-8", "replace")[-1500:])))
