"""Probes for TCP echo servers (suite ``stream-echo``; docs/labs.md §1, reused by §2-§4 and §9).

Theory of operation: the grader is the client.  Each probe opens its own
connections through the context, drives one requirement, and judges typed
events.  Payloads and split points come from the probe's seeded generator.
The assignment's ``[protocol] framing`` (default ``"raw"``) picks a
:class:`~grader.probes.adapter.Adapter` that makes each probe's content a
valid message and judges the reply, so the same probes grade the framing
servers of lab 9 (length-prefix, delimiter, fixed, close); with ``raw`` they
send exactly the bytes they always did.  The framing-only probes live in
:mod:`grader.probes.framing`.
Probes on the ``main`` lane share one server instance in order; the
``resources`` probes each run on a lane of their own (their own server
instance, concurrently), because they watch the process over an idle second.

Requirement text is quoted in each docstring; the first sentence is the
summary shown in listings.
"""

from __future__ import annotations

import time

from grader.context import ProbeContext
from grader.events import Closed, Done, Timeout
from grader.launch.base import BusyWatch, threads_at_work
from grader.launch.quiet import diag_socket
from grader.launch.sockdiag import TCP_CLOSE_WAIT, TCP_ESTABLISHED
from grader.net import Conn
from grader.probes import generic
from grader.probes.adapter import adapter_for, judge_reply_then_close
from grader.probes.common import echo_hint, printable, register_startup, text, wait_for
from grader.probes.generic import IDLE_PARAMS, measure_idle_cpu
from grader.probes.queues import Pacer, server_end_state
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeError, ProbeFailed, Tier, TimeLimit, mismatch

SUITE = "stream-echo"
ECHO = "echo/one-message"

register_startup(SUITE)
probe = REGISTRY.probe


@probe(SUITE, ECHO, weight=2, depends=("startup/listens",))
def one_message(ctx: ProbeContext) -> None:
    """One message sent on a new connection comes back unchanged. Source: docs/labs.md §1, §9."""
    adapter = adapter_for(ctx)
    with ctx.connect() as conn:
        adapter.check(ctx, conn, adapter.one(b"hello sockgrade " + text(ctx.rng, 8, 40) + b"\n"))


@probe(SUITE, "echo/many-messages", depends=(ECHO,))
def many_messages(ctx: ProbeContext) -> None:
    """Twenty messages on one connection each come back before the next is sent.

    Source: docs/labs.md §1 ("many messages per connection"); docs/labs.md §9 (streaming framings).
    """
    adapter = adapter_for(ctx)
    if not adapter.streaming:
        raise ProbeError(f"echo/many-messages does not apply to the {adapter.name!r} framing "
                         "(one message per connection): remove it from the assignment")
    with ctx.connect() as conn:
        for index in range(20):
            message = f"message {index}: ".encode() + text(ctx.rng, 1, 2000) + b"\n"
            ctx.log(f"message {index}: {len(message)} bytes")
            try:
                adapter.check(ctx, conn, message)
            except ProbeFailed as exc:
                raise ProbeFailed(f"message {index + 1} of 20: {exc.reason}", hint=(
                    "it stops after the first message: keep reading the same connection "
                    "until the client closes it" if index else exc.hint),
                    evidence=exc.evidence) from None


@probe(SUITE, "echo/binary", depends=(ECHO,))
def binary(ctx: ProbeContext) -> None:
    """All 256 byte values and invalid UTF-8 come back unchanged. Source: docs/labs.md §1 ("any bytes").

    With the delimiter framing: every byte value but the delimiter.
    """
    adapter = adapter_for(ctx)
    values = bytes(range(256))
    invalid = b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc"
    conn = ctx.connect()
    with conn:
        for index, (label, message) in enumerate((("all byte values", values),
                                                  ("invalid UTF-8", invalid))):
            if index and not adapter.streaming:  # close framing: one message per connection
                conn = ctx.connect()
            ctx.log(f"sending {label}")
            try:
                adapter.check(ctx, conn, message)
            except ProbeFailed as exc:
                hint = exc.hint
                if isinstance(exc.evidence.transport, str) and "reset" in exc.evidence.transport:
                    hint = "it crashed on non-UTF-8 bytes: do not decode; echo the raw bytes"
                raise ProbeFailed(f"{label}: {exc.reason}", hint=hint,
                                  evidence=exc.evidence) from None


@probe(SUITE, "partial/one-byte-writes", depends=(ECHO,))
def one_byte_writes(ctx: ProbeContext) -> None:
    """A message written one byte at a time (TCP_NODELAY, each byte once the server has read
    the one before, and at least 2 ms after it) comes back whole.

    A server must not take one recv() as one message.  Each byte waits until the server's
    receive queue is empty (:class:`grader.probes.queues.Pacer`), so each recv() it makes
    returns one byte, whatever the machine's load; a server that reads nothing by the
    reply deadline gets the rest 2 ms apart.  Source: docs/labs.md §1, §9.
    """
    adapter = adapter_for(ctx)
    message = adapter.frame(b"split " + text(ctx.rng, 20, 30) + b"\n")
    with ctx.connect(nodelay=True) as conn:
        pacer = Pacer(ctx, conn)
        sent = conn.send_all(message, deadline=ctx.reply_deadline(), chunks=[1] * len(message),
                             gap=0.002, pace=pacer)
        ctx.log(f"wrote {len(message)} single-byte segments, {pacer.describe()}: "
                f"{sent.describe()}")
        try:
            adapter.expect_reply(ctx, conn, message)
        except ProbeFailed as exc:
            if adapter.split_hint is None:
                raise
            raise ProbeFailed(exc.reason, hint=adapter.split_hint, evidence=exc.evidence) from None


#: Seconds without progress that end the backpressure probe's first, write-only phase.
PREFILL_IDLE = 0.2
#: Another round runs only if this many times the longest round so far still fits the
#: probe's time limit (a round's time varies with the machine's load).
ROUND_MARGIN = 1.5


def _exchange_probe(ctx: ProbeContext, size: int, *, write_first: bool, hint_loss: str,
                    rounds: int = 1) -> None:
    """Send ``size`` bytes of printable data and judge the echo, ``rounds`` times on fresh
    connections (stopping at the first round that loses data).

    Each round is a whole check of a correct echo (the same payload each time); more
    rounds only give a timing-dependent bug (a partial ``send()``) more chances to show
    on a loaded machine.
    Raises :class:`ProbeFailed` with the failing round's evidence.
    """
    payload = adapter_for(ctx).stream(printable(ctx.rng, size))
    # threads at work before the probe gave the server anything (the runner let it settle
    # after the last probe): only these may be taken for busy loops of its own; a thread
    # echoing this probe's bytes, however much CPU it uses (a print per chunk), is not
    loops = threads_at_work(ctx.program.pids()) if ctx.program is not None else frozenset()
    started = time.monotonic()
    longest = 0.0
    for number in range(1, rounds + 1):
        elapsed = time.monotonic() - started
        if number > 1 and elapsed + ROUND_MARGIN * longest > ctx.config.timeout:
            # A slow but correct server (one that logs every small recv) must not fail on
            # the grader's time limit: the first round is the full check, later rounds are
            # only more chances for a partial send(), so they run while they fit.
            ctx.log(f"rounds {number}-{rounds} not run: {number - 1} took {elapsed:.1f} s, and "
                    f"another would not fit the probe's {ctx.config.timeout:g} s")
            return
        if rounds > 1:
            ctx.log(f"round {number} of {rounds}")
        round_started = time.monotonic()
        try:
            _exchange_round(ctx, payload, write_first=write_first, hint_loss=hint_loss,
                            loops=loops)
        except TimeLimit as exc:
            if number == 1:
                raise
            # a later round is only another chance for a partial send(): the first passed
            ctx.log(f"round {number} did not finish within the probe's time limit ({exc}); "
                    f"rounds 1-{number - 1} passed")
            return
        except ProbeFailed as exc:
            if rounds == 1:
                raise
            raise ProbeFailed(f"round {number} of {rounds}: {exc.reason}", hint=exc.hint,
                              evidence=exc.evidence) from None
        longest = max(longest, time.monotonic() - round_started)


#: The backpressure probe's receive buffer, in bytes: small, so the server's send buffer
#: fills while the grader writes without reading.
BACKPRESSURE_RCVBUF = 64 * 1024


def _exchange_round(ctx: ProbeContext, payload: bytes, *, write_first: bool, hint_loss: str,
                    loops: frozenset[str]) -> None:
    adapter = adapter_for(ctx)
    size = len(payload)
    # Backpressure (write_first) reads through a small window on purpose.  A payload read
    # while written gets a window for all of it, so the server's send() never meets a full
    # buffer however late a loaded machine lets the grader read: a partial send() is
    # exposed by backpressure alone, not by this probe on some runs and not on others.
    rcvbuf = BACKPRESSURE_RCVBUF if write_first else 2 * size + (1 << 20)
    with ctx.connect(rcvbuf=rcvbuf) as conn:
        # the round may use what is left of the probe's time limit: a stalled server is
        # caught by the idle timeout, and a correct but slow one (a log line per small
        # recv(), on a loaded machine) must not be cut short by a fixed per-round cap
        deadline = ctx.deadline
        watch = BusyWatch(ctx.program.pids() if ctx.program is not None else [], loops=loops)
        start = 0
        if write_first:
            # Backpressure first: up to half the payload is written without reading, so the
            # server's send buffer is full when it echoes (its send() then takes only part,
            # on any machine); a server that blocks in sendall() stops reading, and the
            # grader goes on once nothing has moved for PREFILL_IDLE seconds while no thread
            # of the server is owed CPU (a server starved of CPU has not stopped reading; a
            # thread spinning on work of its own, a busy loop, is not owed any).
            start, _ = conn.push(payload[: size // 2], deadline=deadline, idle=PREFILL_IDLE,
                                 busy=watch.owed)
            ctx.log(f"wrote {start} bytes before reading any echo")
        result = adapter.bulk(conn, payload, deadline=deadline, idle=ctx.reply_timeout,
                              write_first=write_first, start=start,
                              hold=watch.owed if write_first else None)
        ctx.log(f"sent {result.sent} bytes ({result.send_end.describe()}), "
                f"received {len(result.read.data)} ({result.read.end.describe()})")
        if result.read.complete and result.read.data == payload:
            adapter.after_bulk(ctx, conn, payload)
            return
        got = result.read.data
        if (isinstance(result.read.end, Timeout) and time.monotonic() >= deadline
                and got == payload[: len(got)]):
            # no idle timeout: bytes were still arriving, every one right, when the time
            # limit ended the round
            raise TimeLimit(
                f"no verdict: {len(got):,} of {size:,} bytes had come back, all correct and "
                f"still arriving, when the probe's {ctx.config.timeout:g} s time limit ended it "
                "(a program that prints every chunk is this slow, or the machine is loaded)")
        hint = echo_hint(payload, got, result.read.end)
        if got != payload[: len(got)]:
            hint = adapter.explain(payload, got, hint_loss)
        damaged = "" if got == payload[: len(got)] else ", and they differ from what was sent"
        raise mismatch(
            f"{len(got)} of {size} bytes came back{damaged} ({result.read.end.describe()})",
            sent=None, expected=payload, actual=got, end=result.read.end, hint=hint,
        )


@probe(SUITE, "partial/large-payload", depends=(ECHO,), timeout=40.0,
       params=(Param("bytes", 4 * 1024 * 1024, "bytes", "size of the payload"),))
def large_payload(ctx: ProbeContext) -> None:
    """A {bytes} payload written and read at the same time comes back whole and in order.

    The grader reads while it writes, so a correct server never deadlocks,
    through a receive buffer that can hold the whole echo (where the grader
    may: past net.core.rmem_max it takes root), so the server's sends never
    meet a full buffer here: a send() that drops what it could not send is
    partial/backpressure's to expose, on every run, not this probe's on some.
    Source: docs/labs.md §1 ("any size").
    """
    _exchange_probe(ctx, ctx.param_int("bytes"), write_first=False,
                    hint_loss="bytes are missing or out of order in the middle of the stream")


@probe(SUITE, "partial/backpressure", depends=(ECHO,), timeout=60.0,
       params=(Param("bytes", 16 * 1024 * 1024, "bytes", "size of the payload"),
               Param("rounds", 3, "count", "connections the payload is echoed on, one after another")))
def backpressure(ctx: ProbeContext) -> None:
    """Under backpressure ({bytes}, the grader reads only when it cannot write) every byte comes back,
    on each of {rounds} connections in turn (the later ones while they fit the probe's time limit).

    The server's send buffer fills up, so a send() that sends only part of
    its buffer is exposed: the rest must not be dropped.  Whether a given
    send() meets a full buffer depends on scheduling (a server starved of CPU
    on a loaded machine may find room for every chunk), so the check is made
    on several connections: a correct server passes every round, a partial
    send() is caught in at least one.  Source: docs/labs.md §1 ("send
    instead of sendall").
    """
    _exchange_probe(ctx, ctx.param_int("bytes"), write_first=True, rounds=ctx.param_int("rounds"),
                    hint_loss="bytes are missing from the middle of the stream: send() may send "
                              "only part of a buffer and return the count; use sendall()")


@probe(SUITE, "shutdown/half-close", depends=(ECHO,))
def half_close(ctx: ProbeContext) -> None:
    """After the client's half-close (SHUT_WR) the server sends all it owes, then closes with FIN.

    The client must see the whole echo and then EOF, not a reset and not
    endless data. Source: docs/labs.md §1 ("When the client shuts down its sending side";
    "finish sending whatever is still pending and close").
    """
    message = adapter_for(ctx).frame(text(ctx.rng, 200, 600) + b"\n")
    with ctx.connect() as conn:
        conn.send_all(message, deadline=ctx.reply_deadline())
        conn.shutdown_write()
        ctx.log(f"sent {len(message)} bytes, then SHUT_WR")
        result = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=len(message) + 65536)
        ctx.log(f"read {len(result.data)} bytes, ended: {result.end.describe()}")
    judge_reply_then_close(message, result)


@probe(SUITE, "shutdown/closes-after-client", depends=(ECHO,))
def closes_after_client(ctx: ProbeContext) -> None:
    """After the client closes, the server closes its side of the connection before a deadline.

    Observed on the server's end of that very connection, looked up by its
    addresses (sock_diag, in the server's network namespace): once the
    client's FIN has reached it (it left ESTABLISHED), it may not stay in
    CLOSE_WAIT (the peer closed, the program did not).  Waiting for the FIN
    to arrive first keeps a loaded machine, where the kernel handles it a
    moment after close() returns, from passing a server that never closes.
    Source: docs/labs.md §1.
    """
    adapter = adapter_for(ctx)
    assert ctx.program is not None
    diag = diag_socket(ctx.program)
    if diag is None:
        raise ProbeError("cannot look up the server's sockets (sock_diag in its network "
                         "namespace)")
    with diag:
        with ctx.connect() as conn:
            client, server = conn.sock.getsockname()[:2], conn.sock.getpeername()[:2]
            adapter.check(ctx, conn, adapter.one(text(ctx.rng, 10, 50)))
        ctx.log("client closed")
        seen: list[int | None] = []

        def closed() -> bool | None:
            seen.append(server_end_state(diag, server, client))
            return True if seen[-1] not in (TCP_ESTABLISHED, TCP_CLOSE_WAIT) else None

        try:
            done = wait_for(closed, deadline=ctx.reply_deadline())
        except OSError as exc:
            raise ProbeError(f"looking up the server's end of the connection: {exc}") from None
    if done:
        return
    if seen and seen[-1] == TCP_ESTABLISHED:
        raise ProbeError(f"the client's FIN had not reached the server's socket after "
                         f"{ctx.reply_timeout:g} s (a machine too loaded to judge this probe)")
    raise ProbeFailed(
        "the server did not close its socket after the client closed",
        hint="when recv() returns b'' close the connection socket (with a 'with' block)",
        evidence=Evidence(expected="its end of the connection closed",
                          actual=f"still in CLOSE_WAIT {ctx.reply_timeout:g} s after the "
                                 "client's FIN arrived"),
    )


def _session(ctx: ProbeContext, conn: Conn, index: int) -> None:
    """One valid round trip in the assignment's framing (the shared probes' session)."""
    adapter_for(ctx).check(ctx, conn, f"client {index}\n".encode())


def _opening(ctx: ProbeContext, conn: Conn) -> None:
    """The start of a message, left unfinished (the shared probes' opening)."""
    adapter_for(ctx).begin(ctx, conn, b"about to reset\n")


def _request(ctx: ProbeContext, index: int) -> bytes:
    """The wire bytes of the session's message (the shared probes' complete request)."""
    return adapter_for(ctx).frame(f"client {index}\n".encode())


def _bulk(ctx: ProbeContext) -> bytes:
    """16 MiB of printable data in the assignment's framing: its echo is the large reply,
    more than the kernel's largest send buffer (tcp_wmem: 4 MiB by default) holds."""
    return adapter_for(ctx).stream(printable(ctx.rng, 16 * 1024 * 1024))


#: This suite as the shared probes of :mod:`grader.probes.generic` see it.
LAB = generic.ServerLab(suite=SUITE, source="docs/labs.md §1", session=_session, opening=_opening,
                        depends=(ECHO,), request=_request, bulk=_bulk,
                        bulk_depends=("partial/large-payload",))
generic.register(LAB, which=(generic.CLIENT_RESET, generic.RESET_BEFORE_REPLY,
                             generic.RESET_DURING_REPLY, generic.SEQUENTIAL))


@probe(SUITE, "concurrency/second-client", tier=Tier.INFORMATIONAL, depends=(ECHO,))
def second_client(ctx: ProbeContext) -> None:
    """A second client is served while a first one is connected and silent.

    Informational for lab 1; required for labs 2-4. Source: docs/labs.md §2.
    """
    adapter = adapter_for(ctx)
    with ctx.connect() as silent:
        ctx.log("first client connected, sends nothing")
        try:
            with ctx.connect() as second:
                adapter.check(ctx, second, b"am I served?\n")
        except ProbeFailed as exc:
            raise ProbeFailed(
                f"a second client was not served while the first was idle: {exc.reason}",
                hint="serve each client in its own thread, or multiplex with selectors",
                evidence=exc.evidence,
            ) from None
        silent.close()


generic.register(LAB, which=(generic.NO_FD_LEAK, generic.IDLE_CPU))


@probe(SUITE, "resources/idle-cpu-client", depends=(ECHO,), lane="idle-client",
       params=IDLE_PARAMS)
def idle_cpu_client(ctx: ProbeContext) -> None:
    """No busy loop: at most {max_cpu} CPU over {seconds} of idleness with one connected, silent client.

    Source: docs/labs.md §3 ("busy loop while idle"); docs/labs.md §9.
    """
    adapter = adapter_for(ctx)
    first, later = adapter.one(b"connected, then silent\n"), adapter.one(b"still here\n")
    with ctx.connect() as conn:
        adapter.begin(ctx, conn, first)  # close framing: the request's first part, no reply yet
        measure_idle_cpu(ctx, "with a silent client connected")
        message = adapter.frame(later)
        sent = conn.send_all(message, deadline=ctx.reply_deadline())
        if not adapter.streaming:  # the rest of the request, the half-close, then the reply
            adapter.expect_reply(ctx, conn, adapter.frame(first) + message)
            return
        result = conn.read_exactly(len(message), deadline=ctx.reply_deadline())
        if not isinstance(sent, Done) or not result.complete:
            end = result.end
            raise ProbeFailed("the idle client was not served after the idle second",
                              hint="keep serving a connection however long it stays idle",
                              evidence=Evidence(transport=end.describe()))
        if isinstance(result.end, Closed):
            raise ProbeFailed("the server closed an idle connection", hint="do not time out clients")
