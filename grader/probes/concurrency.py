"""Concurrency probes for TCP echo servers (suite ``stream-echo``; docs/labs.md §2-§4).

Theory of operation: labs 2-4 keep the echo contract of lab 1 and add that
many clients are served at once, by a thread per client (lab 2), one thread
multiplexing non-blocking sockets with select()/poll() (lab 3), or a
bounded pool of worker threads (lab 4).  Two kinds of probe check that:

* ``concurrency/*`` drive clients through the network: many clients at once
  from one selector (:mod:`grader.probes.crowd`), a client that writes and
  never reads next to one that must still be served, two clients whose
  messages interleave, and a half-close while the echo is still queued.
* ``process/*`` observe the program itself (``ctx.stats()``, read from
  ``/proc``) while clients are connected: a select/poll server keeps one
  thread; a pool's threads stay within its size plus a small constant while
  the clients beyond it wait; a thread per client ends with its client.

Every number a probe uses (clients, rounds, windows, the pool size) is one
of its declared parameters (:class:`~grader.probes.registry.Param`), which an
assignment file may override.  Each probe depends on ``echo/one-message``, so a hung
server is reported once and the rest are skipped; every wait is bounded by a
deadline from the context.  The "silent client" requirement is
``concurrency/second-client`` in :mod:`grader.probes.stream`, which labs 2-4
make required.
"""

from __future__ import annotations

import selectors
import time

from grader.context import ProbeContext
from grader.events import Closed, Done, Event, Overflow, Reset, Timeout
from grader.net import Conn, ReadResult, reset_or_raise
from grader.probes import queues
from grader.probes.common import check_echo, echo_hint, printable, wait_for
from grader.probes.crowd import Crowd, EchoClient
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt, mismatch

SUITE = "stream-echo"
ECHO = "echo/one-message"
MIB = 1024 * 1024

probe = REGISTRY.probe

CONCURRENT_HINT = ("serve clients concurrently: a thread per client, or select()/poll() over "
                   "non-blocking sockets; an iterative server serves one client at a time")


# -- helpers -------------------------------------------------------------------


def _message(ctx: ProbeContext, client: int, turn: int) -> bytes:
    """A short, distinct, seeded message for ``client``'s round ``turn`` (both 0-based)."""
    alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789"
    tail = bytes(ctx.rng.choice(alphabet) for _ in range(ctx.rng.randint(8, 48)))
    return f"client {client + 1} round {turn + 1}: ".encode() + tail + b"\n"


def _raw_echo(ctx: ProbeContext) -> None:
    """ProbeError unless the assignment echoes raw bytes (these probes send unframed bytes)."""
    framing = ctx.protocol.get("framing", "raw")
    if framing != "raw":
        raise ProbeError(f"{ctx.config.name} sends raw bytes and does not apply to the "
                         f"{framing!r} framing: remove it from the assignment")


def _connect_many(ctx: ProbeContext, count: int) -> list[Conn]:
    """``count`` connections, opened one after another; ProbeFailed names the one that failed."""
    conns = []
    for index in range(count):
        try:
            conns.append(ctx.connect())
        except ProbeFailed as exc:
            raise ProbeFailed(
                f"client {index + 1} of {count} could not connect while {index} were connected: "
                f"{exc.reason}",
                hint="listen with a backlog large enough for many clients (listen(128)) and "
                     "keep accepting while others are being served",
                evidence=exc.evidence,
            ) from None
    return conns


CROSSED_HINT = ("another client's bytes arrived on this connection: keep each client's socket "
                "and output queue its own (a handler that sends on a global socket variable, or "
                "one output buffer shared by all clients, mixes them up)")


def _client_failure(client: EchoClient, count: int, *, hint: str,
                    foreign: bytes = b"") -> ProbeFailed:
    """The verdict for the first client of a crowd that went wrong.

    ``foreign`` holds bytes only some other client sent: when what came back
    starts with a piece of it (or holds another client's message), replies
    crossed.
    """
    where = f"client {client.index + 1} of {count}, round {client.rounds + 1}"
    expected = client.expected
    if client.wrong is not None:
        crossed = (foreign and client.wrong[:32] in foreign) or _other_message(client)
        return mismatch(f"{where}: {client.failure}", sent=expected, expected=expected,
                        actual=client.wrong, end=None,
                        hint=CROSSED_HINT if crossed else echo_hint(expected, client.wrong, Done()))
    return ProbeFailed(
        f"{where}: {client.failure}",
        hint=hint,
        evidence=Evidence(expected=excerpt(expected), actual=excerpt(bytes(client.got)),
                          transport=client.end.describe() if client.end else None),
    )


def _other_message(client: EchoClient) -> bool:
    """True when ``client`` received a message written by another client (see :func:`_message`)."""
    mine = f"client {client.index + 1} round ".encode()
    got = client.wrong or b""
    return b" round " in got and got.count(b"client ") > got.count(mine)


def _first_failed(crowd: Crowd) -> EchoClient | None:
    return next((c for c in crowd.clients if c.failure is not None), None)


# -- many clients ----------------------------------------------------------------


@probe(SUITE, "concurrency/many-clients", depends=(ECHO,), timeout=40.0, params=(
    Param("clients", 100, "count", "clients connected at the same time"),
    Param("rounds", 3, "count", "round trips per client"),
    Param("seconds", 10.0, "seconds", "deadline for every round trip of every client"),
    Param("hold", True, "", "each client holds its connection until all are done")))
def many_clients(ctx: ProbeContext) -> None:
    """{clients} clients connected at the same time each complete {rounds} round trips within {seconds}.

    All clients connect first, then all talk at once; each message goes out
    as soon as the echo of the previous one is back.  Each client keeps its
    connection open until every client is done, so the server must serve
    them all at the same time (with ``hold = false`` a client closes as soon
    as it is done: a pool server then serves the clients beyond its size as
    others leave).
    Source: docs/labs.md §2-§4 ("serves many clients at once").
    """
    _raw_echo(ctx)
    count = ctx.param_int("clients")
    rounds = ctx.param_int("rounds")
    seconds = ctx.param_float("seconds")
    hold = ctx.param_bool("hold")
    conns = _connect_many(ctx, count)
    ctx.log(f"{count} clients connected; each sends {rounds} messages"
            f"{', holding its connection' if hold else ''}")
    crowd = Crowd()
    try:
        for index, conn in enumerate(conns):
            crowd.add(conn, [_message(ctx, index, turn) for turn in range(rounds)], hold=hold)
        started = time.monotonic()
        crowd.run(lambda: crowd.done == count or crowd.failed > 0,
                  deadline=ctx.reply_deadline(seconds), idle=ctx.reply_timeout)
        elapsed = time.monotonic() - started
    finally:
        crowd.close()
    ctx.log(f"after {elapsed:.3f} s: {crowd.done} done, {crowd.failed} failed, "
            f"{count - crowd.done - crowd.failed} waiting")
    failed = _first_failed(crowd)
    if failed is not None:
        raise _client_failure(failed, count, hint=(
            "with many clients at once one of them was dropped: check the accept loop and that "
            "each client's state is its own"))
    if crowd.done < count:
        waiting = [c for c in crowd.clients if c.waiting]
        served = sum(1 for c in crowd.clients if c.rounds)
        why = (f"the {seconds:g} s deadline" if elapsed >= seconds else
               f"{ctx.reply_timeout:g} s in which no byte moved")
        raise ProbeFailed(
            f"{len(waiting)} of {count} clients connected at once were still waiting for an "
            f"echo after {why} ({crowd.done} finished, {served} got at least one echo)",
            hint=CONCURRENT_HINT,
            evidence=Evidence(expected=f"{count} clients x {rounds} round trips within "
                                       f"{seconds:g} s",
                              actual=f"{crowd.done} clients finished",
                              transport=f"client {waiting[0].index + 1} waits for round "
                                        f"{waiting[0].rounds + 1}"),
        )


# -- one client that never reads -----------------------------------------------


@probe(SUITE, "concurrency/non-reading-client", depends=(ECHO,), timeout=40.0, params=(
    Param("max_bytes", 64 * MIB, "bytes", "most the non-reading client writes"),
    Param("stall", 0.5, "seconds", "time without progress that ends its writing"),
    Param("rounds", 5, "count", "round trips the other client must complete")))
def non_reading_client(ctx: ProbeContext) -> None:
    """A client that sends a lot and never reads its echo blocks nobody: another client is still served.

    The first client writes until the server stops taking its bytes (on
    loopback 8 MiB or more; at most {max_bytes}) and never reads,
    so the echo owed to it backs up.  Then a second client must get {rounds} round trips done,
    each within the reply timeout, and once the first client has reset its
    connection, one more.  A select()/poll() server needs non-blocking
    sockets and per-client output queues (a blocking send() waits for the
    slow reader and stalls everyone); a threaded server must not hold a
    shared lock while sending.  The first client stops writing after {stall}
    without progress.
    Source: docs/labs.md §2-§3.
    """
    _raw_echo(ctx)
    cap = ctx.param_int("max_bytes")
    stall = ctx.param_float("stall")
    rounds = ctx.param_int("rounds")
    hog = ctx.connect(rcvbuf=64 * 1024)  # a small window: its echo backs up at once
    other = ctx.connect()
    crowd = Crowd()
    try:
        pusher = crowd.push(hog, printable(ctx.rng, 256 * 1024), cap=cap)
        crowd.run(lambda: pusher.finished or pusher.stalled(stall),
                  deadline=ctx.reply_deadline(max(10.0, ctx.reply_timeout)))
        state = ("was reset" if pusher.end is not None else "wrote all" if pusher.finished
                 else f"was not taken for {stall:g} s" if pusher.stalled(stall) else "still moved")
        ctx.log(f"non-reading client: {pusher.sent} bytes written, then it {state}")
        client = crowd.add(other, [_message(ctx, 0, turn) for turn in range(rounds)])
        # each round trip gets the reply timeout: a server stalled by the non-reading client
        # moves no byte at all, and a loaded machine may take a while over one round trip
        crowd.run(lambda: not client.waiting,
                  deadline=ctx.reply_deadline(rounds * ctx.reply_timeout),
                  idle=ctx.reply_timeout)
        ctx.log(f"second client: {client.rounds} of {rounds} round trips; the first client "
                f"has written {pusher.sent} bytes in all")
    finally:
        crowd.close()
    if client.failure is not None:
        raise _client_failure(client, 1, foreign=bytes(pusher.chunk) * 2, hint=(
            "a second client went wrong while another did not read its echo"))
    if not client.done:
        raise ProbeFailed(
            f"a second client got {client.rounds} of {rounds} echoes ({ctx.reply_timeout:g} s "
            f"allowed for each) while another client ({pusher.sent:,} bytes sent) did "
            "not read its echo",
            hint="one client that does not read must not stall the others: in a select()/poll() "
                 "server make every socket non-blocking and keep an output queue per client "
                 "(a blocking send()/sendall() waits for the slow reader); in a threaded server "
                 "do not hold a shared lock while sending",
            evidence=Evidence(expected=f"{rounds} echoes", actual=f"{client.rounds} echoes",
                              transport=f"round {client.rounds + 1}: "
                                        f"{len(client.got)} bytes back, then nothing"),
        )
    _hog_leaves(ctx, hog, other, drained=pusher.finished)


def _hog_leaves(ctx: ProbeContext, hog: Conn, other: Conn, *, drained: bool) -> None:
    """Reset the non-reading client; once the server has closed its socket, ``other`` is served.

    When the server took all the client's bytes (``drained``), the reset
    waits until the server has also read them, so it meets the reset itself
    rather than more data.  The server's socket for ``hog`` is looked up
    before the reset and the probe waits for exactly its close: a server
    that crashes on it (a socket closed in the read phase and then written)
    fails here, not in a later probe.
    """
    pids = ctx.program.pids() if ctx.program is not None else []
    end = queues.server_end(ctx, hog)
    if drained and end is not None:
        wait_for(lambda: True if (e := queues.server_end(ctx, hog)) is None or e.unread == 0
                 else None, deadline=ctx.reply_deadline())
    hog.close()  # its echo is unread, so the kernel sends RST
    if end is not None:
        gone = wait_for(lambda: True if not queues.accepted(pids, end.inode) else None,
                        deadline=ctx.reply_deadline())
        ctx.log("the non-reading client reset; the server "
                + ("closed its socket" if gone else "still holds its socket"))
    try:
        check_echo(ctx, other, _message(ctx, 0, 99), what="echo after the other client left")
    except ProbeFailed as exc:
        raise ProbeFailed(
            f"after the non-reading client reset its connection, the other client was not "
            f"served: {exc.reason}",
            hint="a client that leaves with output still queued must only be dropped: in a "
                 "select()/poll() loop, a socket closed in the read phase must not be used "
                 "again in the write phase (KeyError, bad file descriptor); see the stderr tail",
            evidence=exc.evidence,
        ) from None


# -- two clients, interleaved ------------------------------------------------------


@probe(SUITE, "concurrency/interleaved", depends=(ECHO,), params=(
    Param("rounds", 5, "count", "rounds of interleaved messages"),
    Param("gap", 0.002, "seconds", "pause between the pieces")))
def interleaved(ctx: ProbeContext) -> None:
    """Messages from two clients, written in alternating pieces, each come back only to their sender.

    {rounds} rounds: the first half of client A's message, the first half of
    B's, the rest of A's, the rest of B's (separate segments, {gap} apart);
    then A must read exactly its message and B exactly its own.  Source: docs/labs.md §2-§4 (the per-client
    state of a concurrent server).
    """
    _raw_echo(ctx)
    rounds = ctx.param_int("rounds")
    gap = ctx.param_float("gap")
    letters = b"abcdefghijklmnopqrstuvwxyz"
    with ctx.connect(nodelay=True) as first, ctx.connect(nodelay=True) as second:
        pair = ((b"A", first), (b"b", second))
        for turn in range(rounds):
            messages = {}
            for mark, _conn in pair:
                body = bytes(ctx.rng.choice(letters) for _ in range(ctx.rng.randint(20, 60)))
                text = body.upper() if mark == b"A" else body
                messages[mark] = b"<%s%d>" % (mark, turn) + text + b"\n"
            pieces = [(conn, messages[mark][: len(messages[mark]) // 2]) for mark, conn in pair]
            pieces += [(conn, messages[mark][len(messages[mark]) // 2 :]) for mark, conn in pair]
            for conn, piece in pieces:
                sent = conn.send_all(piece, deadline=ctx.reply_deadline())
                if not isinstance(sent, Done):
                    raise ProbeFailed(f"round {turn + 1}: could not send: {sent.describe()}",
                                      hint="the server stopped reading or reset the connection")
                time.sleep(gap)  # the stimulus pattern: pieces reach the server separately
            ctx.log(f"round {turn + 1}: A and B wrote {len(messages[b'A'])} and "
                    f"{len(messages[b'b'])} bytes in alternating halves")
            results = {mark: conn.read_exactly(len(messages[mark]), deadline=ctx.reply_deadline())
                       for mark, conn in pair}
            if all(r.complete and r.data == messages[r_mark] for r_mark, r in results.items()):
                continue
            _judge_interleaved(turn, pair, messages, results)
        for mark, conn in pair:
            extra = conn.read_for(0.0)
            if extra.data:
                raise ProbeFailed(
                    f"client {mark.decode().upper()} received {len(extra.data)} bytes it never sent",
                    hint=CROSSED_HINT,
                    evidence=Evidence(expected="nothing more", actual=excerpt(extra.data)),
                )


def _judge_interleaved(turn: int, pair: tuple[tuple[bytes, Conn], ...],
                       messages: dict[bytes, bytes], results: dict[bytes, ReadResult]) -> None:
    """Raise for the first client whose echo is wrong, naming crossed replies when seen."""
    seen = {mark: results[mark].data + conn.read_for(0.0).data for mark, conn in pair}
    for mark, _conn in pair:
        mine, result = messages[mark], results[mark]
        if result.complete and result.data == mine:
            continue
        half = len(mine) // 2
        crossed = any(piece in seen[other] for other in seen if other != mark
                      for piece in (mine[:half], mine[half:]))
        raise mismatch(
            f"round {turn + 1}: client {mark.decode().upper()} did not get back exactly its own "
            f"message ({len(result.data)} of {len(mine)} bytes; {result.end.describe()})"
            + ("; its bytes went to the other client" if crossed else ""),
            sent=mine, expected=mine, actual=result.data, end=result.end,
            hint=CROSSED_HINT if crossed else echo_hint(mine, result.data, result.end),
        )


# -- half-close with output still queued ----------------------------------------


@probe(SUITE, "concurrency/half-close-queued", depends=(ECHO,), timeout=30.0, params=(
    Param("bytes", 32 * MIB, "bytes", "size of the payload"),
    Param("settle", 0.5, "seconds", "longest wait for a server that stopped reading")))
def half_close_queued(ctx: ProbeContext) -> None:
    """A half-close (SHUT_WR) that arrives while the echo is still queued: all of it comes back, then FIN.

    The client writes {bytes}, reading only when the server stops taking its
    bytes, so the server's output backs up; then it half-closes and, without
    reading, waits until the server has read all its bytes and the FIN (or
    {settle}, for a server that stopped reading): the server
    meets the FIN with output still queued.  Then the client reads to EOF.
    A select()/poll() loop that closes the socket in the read phase loses
    what was queued, and one that still uses that socket in the write phase
    crashes (KeyError, bad file descriptor).
    Source: docs/labs.md §3 ("a socket closed in the read loop is still used
    in the write loop"); docs/labs.md §1 ("finish sending whatever is still pending and close").
    """
    _raw_echo(ctx)
    size = ctx.param_int("bytes")
    settle = ctx.param_float("settle")
    payload = printable(ctx.rng, size)
    with ctx.connect(rcvbuf=64 * 1024) as conn:
        got, end = _write_under_backpressure(conn, payload,
                                             deadline=ctx.reply_deadline(max(20.0, ctx.reply_timeout)),
                                             idle=ctx.reply_timeout)
        if not isinstance(end, Done):
            raise mismatch(
                f"the server stopped taking the payload ({len(got)} of {size} bytes echoed; "
                f"{end.describe()})", sent=None, expected=payload, actual=got, end=end,
                hint=echo_hint(payload, got, end))
        conn.shutdown_write()
        ctx.log(f"wrote {size} bytes, {len(got)} echoed so far; then SHUT_WR")
        # Let a server that still reads reach the FIN while its output is queued (we do
        # not read): wait until it has read all our bytes, or for the settle window.

        def at_eof() -> bool | None:
            view = queues.server_end(ctx, conn)
            return True if view is None or view.unread == 0 else None

        drained = wait_for(at_eof, deadline=ctx.reply_deadline(settle))
        ctx.log("the server has read every byte and the FIN" if drained else
                f"the server still had bytes to read after {settle:g} s (it stopped reading)")
        rest = _read_to_eof(ctx, conn, cap=max(0, size - len(got)) + 65536)
    data = got + rest.data
    ctx.log(f"read {len(data)} bytes in all; ended: {rest.end.describe()}")
    if data == payload and isinstance(rest.end, Closed):
        return
    owed = size - len(data)
    queued_hint = ("on recv() == b'' stop reading that client but keep its socket until its "
                   "output queue is sent, then close it and remove it everywhere; never touch a "
                   "socket after closing it in the same loop pass")
    if data != payload[: len(data)] or isinstance(rest.end, Overflow):
        raise mismatch("the echo differs from what was sent", sent=None, expected=payload,
                       actual=data, end=rest.end, hint=echo_hint(payload, data, rest.end))
    if isinstance(rest.end, Timeout):
        raise ProbeFailed(
            f"after the half-close the server {'never closed' if not owed else 'stopped'} "
            f"({owed:,} of {size:,} bytes still owed)",
            hint="when recv() returns b'' send what is queued, then close; a loop that watches "
                 "only readable sockets after the client's FIN never sends the rest",
            evidence=Evidence(expected=f"{size:,} bytes then EOF",
                              actual=f"{len(data):,} bytes", transport=rest.end.describe()),
        )
    reason = ("the server reset the connection" if isinstance(rest.end, Reset)
              else "the server closed the connection")
    raise ProbeFailed(
        f"{reason} after the client's half-close with {owed:,} of {size:,} echoed bytes still "
        "unsent",
        hint=queued_hint + (" (a crash also resets: see the stderr tail)"
                            if isinstance(rest.end, Reset) else ""),
        evidence=Evidence(expected=f"{size:,} bytes then EOF", actual=f"{len(data):,} bytes",
                          transport=rest.end.describe()),
    )


def _read_to_eof(ctx: ProbeContext, conn: Conn, *, cap: int) -> ReadResult:
    """Read until EOF: Closed, Reset, Overflow past ``cap`` bytes, or Timeout when nothing
    arrives for the reply timeout (or after 20 s in all)."""
    started = time.monotonic()
    overall = ctx.reply_deadline(max(20.0, ctx.reply_timeout))
    data = bytearray()
    while True:
        part = conn.read_some(deadline=min(overall, time.monotonic() + ctx.reply_timeout),
                              cap=cap - len(data))
        data += part.data
        end = part.end if not part.complete else Overflow(cap=cap) if len(data) > cap else None
        if end is not None:
            return ReadResult(data=bytes(data), end=end, elapsed=time.monotonic() - started)


def _write_under_backpressure(conn: Conn, payload: bytes, *, deadline: float,
                              idle: float) -> tuple[bytes, Event]:
    """Write all of ``payload``, reading only while a write would block.

    Returns the bytes read and how writing ended: Done, Reset, Closed (the
    server closed early) or Timeout (nothing moved either way for ``idle``
    seconds, or ``deadline`` passed).
    """
    sock = conn.sock
    view = memoryview(payload)
    offset = 0
    got = bytearray()
    moved = time.monotonic()
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while offset < len(payload):
            try:
                offset += sock.send(view[offset : offset + 256 * 1024])
                moved = time.monotonic()
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                return bytes(got), reset_or_raise(exc)
            wait = min(deadline, moved + idle) - time.monotonic()
            ready = selector.select(wait) if wait > 0 else []
            if not ready:
                return bytes(got), Timeout(after=time.monotonic() - moved)
            if ready[0][1] & selectors.EVENT_READ:
                try:
                    data = sock.recv(256 * 1024)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    return bytes(got), reset_or_raise(exc)
                if not data:
                    return bytes(got), Closed()
                got += data
                moved = time.monotonic()
    return bytes(got), Done()


# -- observed from the process ---------------------------------------------------


def _serve_and_hold(ctx: ProbeContext, count: int) -> Crowd:
    """Connect ``count`` clients, one echo each, held open; runs until all done or the deadline."""
    conns = _connect_many(ctx, count)
    crowd = Crowd()
    try:
        for index, conn in enumerate(conns):
            crowd.add(conn, [_message(ctx, index, 0)], hold=True)
        crowd.run(lambda: crowd.done + crowd.failed == count, deadline=ctx.reply_deadline())
    except BaseException:
        crowd.close()
        raise
    return crowd


@probe(SUITE, "process/single-threaded", depends=(ECHO,), params=(
    Param("clients", 5, "count", "clients served at once"),
    Param("max_threads", 1, "count", "threads the server may run")))
def single_threaded(ctx: ProbeContext) -> None:
    """Serving {clients} clients at once, a select()/poll() server is one process of {max_threads} thread(s).

    Observed from /proc while the clients are connected and served.  Source: docs/labs.md §3 ("Everything
    happens in a single thread").
    """
    _raw_echo(ctx)
    count = ctx.param_int("clients")
    limit = ctx.param_int("max_threads")
    crowd = _serve_and_hold(ctx, count)
    try:
        stats = ctx.stats()
    finally:
        crowd.close()
    ctx.log(f"{crowd.done} of {count} clients served and connected: {stats.processes} "
            f"process(es), {stats.threads} thread(s)")
    if stats.threads > limit or stats.processes > 1:
        raise ProbeFailed(
            f"with {count} clients connected the server ran {stats.threads} threads in "
            f"{stats.processes} process(es)",
            hint="this lab asks for one thread multiplexing every client with select()/poll(), "
                 "not a thread or process per client",
            evidence=Evidence(expected=f"1 process, at most {limit} thread(s)",
                              actual=f"{stats.processes} process(es), {stats.threads} threads"),
        )


def _pool_size(ctx: ProbeContext) -> int:
    """The pool size N: the ``workers`` param, else the extra argv word at ``workers_argument``."""
    if ctx.param_int("workers"):
        return ctx.param_int("workers")
    position = ctx.param_int("workers_argument")
    try:
        return int(ctx.extra[position])
    except (IndexError, ValueError):
        raise ProbeError(f"the assignment gives no pool size: extra argument {position} of "
                         f"{list(ctx.extra)} is not a number and no 'workers' param is set") from None


@probe(SUITE, "process/bounded-threads", depends=(ECHO,), timeout=40.0, params=(
    Param("clients", 100, "count", "clients connected at once"),
    Param("slack", 2, "count", "threads allowed beyond the pool size"),
    Param("window", 0.5, "seconds", "measurement window for the thread count"),
    Param("seconds", 10.0, "seconds", "deadline for serving every waiting client"),
    Param("workers", 0, "count", "the pool size N (0: read it from the extra arguments)"),
    Param("workers_argument", 0, "count", "which extra argument is N")))
def bounded_threads(ctx: ProbeContext) -> None:
    """With {clients} clients connected a pool of N workers runs at most N + {slack} threads; the rest wait.

    All {clients} clients connect and send one message while holding their
    connections.  At least N must be served at once; over a measurement
    window ({window}) the thread count, sampled from /proc, must stay within
    N + {slack}, and no client may be closed or reset; then the clients
    leave one by one as served and every waiting client must be served in
    turn within {seconds}.  N is the extra argument the server is
    started with (or the ``workers`` param).  Source: docs/labs.md §4.
    """
    _raw_echo(ctx)
    workers = _pool_size(ctx)
    count = ctx.param_int("clients")
    slack = ctx.param_int("slack")
    window = ctx.param_float("window")
    seconds = ctx.param_float("seconds")
    bound = workers + slack
    peak = [0]

    def sample() -> None:
        peak[0] = max(peak[0], ctx.stats().threads)

    conns = _connect_many(ctx, count)
    crowd = Crowd()
    try:
        for index, conn in enumerate(conns):
            crowd.add(conn, [_message(ctx, index, 0)], hold=True)
        crowd.run(lambda: crowd.done >= workers or crowd.failed > 0,
                  deadline=ctx.reply_deadline(), tick=sample)
        at_once = crowd.done
        crowd.run(lambda: crowd.done + crowd.failed == count or crowd.failed > 0,
                  deadline=min(ctx.deadline, time.monotonic() + window), tick=sample)
        sample()
        ctx.log(f"pool of {workers}: {crowd.done} of {count} served while all stay connected; "
                f"peak {peak[0]} threads")
        _judge_pool(crowd, count, workers, at_once)
        if peak[0] <= bound:
            crowd.release()
            crowd.run(lambda: crowd.done + crowd.failed == count,
                      deadline=ctx.reply_deadline(seconds), idle=ctx.reply_timeout, tick=sample)
            sample()
            ctx.log(f"after release: {crowd.done} of {count} served; peak {peak[0]} threads")
    finally:
        crowd.close()
    if peak[0] > bound:
        raise ProbeFailed(
            f"the thread count reached {peak[0]} with {count} clients connected; a pool of "
            f"{workers} may run at most {bound}",
            hint="start a fixed number of worker threads (the pool size from the command line) "
                 "or use ThreadPoolExecutor(max_workers=N); a thread per client is unbounded",
            evidence=Evidence(expected=f"at most {bound} threads ({workers} workers + {slack})",
                              actual=f"{peak[0]} threads"),
        )
    _judge_pool(crowd, count, workers, at_once)
    if crowd.done < count:
        raise ProbeFailed(
            f"clients beyond the pool were not all served after the first ones left: "
            f"{crowd.done} of {count} finished (deadline {seconds:g} s; stops when nothing "
            f"moves for {ctx.reply_timeout:g} s)",
            hint="a worker that finishes with one client must take the next waiting one",
            evidence=Evidence(expected=f"{count} clients served", actual=f"{crowd.done}"),
        )


def _judge_pool(crowd: Crowd, count: int, workers: int, at_once: int) -> None:
    failed = _first_failed(crowd)
    if failed is not None:
        raise _client_failure(failed, count, hint=(
            "clients beyond the pool size must wait (in the listen backlog or a queue) until a "
            "worker is free, not be closed or refused"))
    if at_once < min(workers, count):
        raise ProbeFailed(
            f"only {at_once} client{' was' if at_once == 1 else 's were'} served at once; a "
            f"pool of {workers} serves {workers}",
            hint="start as many workers as the pool size given on the command line",
            evidence=Evidence(expected=f"{min(workers, count)} clients served at once",
                              actual=f"{at_once}"),
        )


@probe(SUITE, "process/threads-freed", depends=(ECHO,), lane="threads",
       params=(Param("clients", 20, "count", "clients served at once, then gone"),))
def threads_freed(ctx: ProbeContext) -> None:
    """When its clients leave, the server's thread count returns to what it was before they came.

    {clients} clients connect and are served at once, then all close; within the
    reply deadline the thread count (from /proc) must be back to its value
    before they came.  Source: docs/labs.md §2 (thread
    per client: a thread ends with its client).
    """
    _raw_echo(ctx)
    count = ctx.param_int("clients")
    baseline = ctx.stats().threads  # a lane of its own: no client has come yet
    crowd = _serve_and_hold(ctx, count)
    try:
        during = ctx.stats().threads
    finally:
        crowd.close()
    for client in crowd.clients:
        client.conn.close()
    ctx.log(f"{baseline} threads before, {during} with {crowd.done} of {count} clients "
            "served; all closed")
    settled = wait_for(lambda: (n if (n := ctx.stats().threads) <= baseline else None),
                       deadline=ctx.reply_deadline())
    if settled is None:
        now = ctx.stats().threads
        raise ProbeFailed(
            f"{now} threads still run after {count} clients left ({baseline} before they came, "
            f"{during} while they were connected)",
            hint="a client's thread must end when its client is done: return from the handler "
                 "when recv() returns b'' and do not leave helper threads blocked forever "
                 "(on a queue, an event, a second socket)",
            evidence=Evidence(expected=f"<= {baseline} threads after {ctx.reply_timeout:g} s",
                              actual=f"{now} threads"),
        )
