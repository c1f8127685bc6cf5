"""Probes for TCP echo clients (suite ``echo-client``; docs/labs.md §14).

Theory of operation: the grader is the server.  Each probe opens a fresh
listener, starts the client as ``ENTRY HOST PORT MESSAGE``, plays one kind
of echo server (normal, slow, silent, absent) and then judges the
client's transport behaviour, its exit status and its output.  A client
still running at the probe's deadline is killed and fails for hanging.
"""

from __future__ import annotations

import socket
import time

from grader.context import ClientRun, ProbeContext
from grader.events import Closed, Reset
from grader.net import Conn, refusing_port
from grader.probes.common import accept_client
from grader.probes.giving_up import Hints, judge_gave_up
from grader.probes.queues import Pacer
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeFailed, excerpt, mismatch

SUITE = "echo-client"
#: Any byte value to a lower-case letter (a message word of letters only, made at C speed).
_TO_LETTERS = bytes(b"abcdefghijklmnopqrstuvwxyz"[b % 26] for b in range(256))
BASIC = "echo/prints-echo"
probe = REGISTRY.probe


def _message(ctx: ProbeContext, length: int) -> str:
    """A seeded message of exactly ``length`` characters: lowercase words and spaces."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    words = ["echo"]
    while sum(len(w) + 1 for w in words) < length:
        words.append("".join(ctx.rng.choice(alphabet) for _ in range(ctx.rng.randint(3, 9))))
    return " ".join(words)[:length].rstrip().ljust(length, "x")


def _receive_message(ctx: ProbeContext, conn: Conn, message: bytes) -> None:
    result = conn.read_exactly(len(message), deadline=ctx.reply_deadline())
    ctx.log(f"received {len(result.data)} of {len(message)} bytes ({result.end.describe()})")
    if not result.complete or result.data != message:
        raise mismatch(
            "the client did not send exactly the message bytes",
            sent=None, expected=message, actual=result.data, end=result.end,
            hint="send the message from argv as is (encoded as UTF-8), with sendall()",
        )
    extra = conn.read_for(0.0)
    if extra.data:
        raise mismatch("the client sent more than the message", sent=None, expected=message,
                       actual=message + extra.data, end=None,
                       hint="send exactly the message: no added newline or prefix")


def _expect_printed(run: ClientRun, message: bytes) -> None:
    lines = run.stdout.decode("utf-8", "replace").splitlines()
    if message.decode() not in lines and run.stdout.rstrip(b"\r\n") != message:
        raise ProbeFailed(
            "the client did not print the echo on a line of its own",
            hint="print exactly the bytes received back, decoded (not repr(), not b'...')",
            evidence=Evidence(expected=excerpt(message), actual=excerpt(run.stdout)),
        )


def _expect_success(run: ClientRun) -> None:
    if run.status is None:
        raise ProbeFailed("the client did not exit (killed at the deadline)",
                          hint="after the echo is back, close the socket and exit",
                          evidence=Evidence(actual=excerpt(run.stderr)))
    if run.status != 0:
        raise ProbeFailed(f"the client exited with status {run.status}",
                          hint="exit 0 after a successful echo",
                          evidence=Evidence(details=(
                              "stderr:\n" + run.stderr.decode("utf-8", "replace")[-1500:],)))


def _expect_fin(ctx: ProbeContext, conn: Conn) -> None:
    result = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=65536)
    ctx.log(f"after the echo: {result.end.describe()}")
    if isinstance(result.end, Reset):
        raise ProbeFailed(
            "the client reset the connection (RST) instead of closing it (FIN)",
            hint="read the whole echo before closing: closing with unread data sends RST",
            evidence=Evidence(expected="FIN", actual="RST", transport=result.end.describe()),
        )
    if not isinstance(result.end, Closed):
        raise ProbeFailed("the client did not close the connection after the echo",
                          hint="close the socket once the whole echo is back",
                          evidence=Evidence(transport=result.end.describe()))


def _serve(ctx: ProbeContext, message: str, *, echo_chunks: list[int] | None = None,
           gap: float = 0.0, rcvbuf: int | None = None) -> tuple[ClientRun, Conn]:
    """Play the echo server for one run of the client: accept it, read ``message``, echo it
    (in ``echo_chunks``, each sent once the client has read the one before and at least
    ``gap`` seconds after it), wait for its FIN, close; then wait for it to exit."""
    listener = ctx.listen()
    if rcvbuf is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    program = ctx.start_client(port=listener.getsockname()[1], message=message)
    conn = accept_client(ctx, listener, program, wait=max(ctx.reply_timeout, 5.0),
                         hint="connect to the host and port given on the command line")
    data = message.encode()
    _receive_message(ctx, conn, data)
    pacer = None
    if echo_chunks:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pacer = Pacer(ctx, conn, program=program)
    sent = conn.send_all(data, deadline=ctx.reply_deadline(), chunks=echo_chunks, gap=gap,
                         pace=pacer)
    if pacer is not None:
        ctx.log(f"echoed {len(data)} bytes in {len(echo_chunks or ())} segments, "
                f"{pacer.describe()}: {sent.describe()}")
    _expect_fin(ctx, conn)
    conn.close()  # like a real echo server: close once the client has closed its side
    run = ctx.finish_client(program, timeout=max(0.1, ctx.deadline - time.monotonic()), starved_grace=True)
    return run, conn


@probe(SUITE, BASIC, weight=2, timeout=15.0)
def prints_echo(ctx: ProbeContext) -> None:
    """The client sends exactly the message, prints the echo on stdout and exits 0.

    Source: docs/labs.md §14.
    """
    message = _message(ctx, 40)
    run, _ = _serve(ctx, message)
    _expect_success(run)
    _expect_printed(run, message.encode())


@probe(SUITE, "partial/slow-echo", depends=(BASIC,), timeout=15.0)
def slow_echo(ctx: ProbeContext) -> None:
    """The echo arrives one byte at a time with gaps: the client still prints the whole message.

    Each byte is sent once the client has read the one before (its receive queue, looked up
    in its network namespace; :class:`grader.probes.queues.Pacer`) and at least 5 ms after
    it, so a client that takes one recv() as the whole echo gets one byte from it whatever
    the machine's load.  Source: docs/labs.md §14 ("however the echo is split").
    """
    message = _message(ctx, 32)
    run, _ = _serve(ctx, message, echo_chunks=[1] * len(message), gap=0.005)
    _expect_success(run)
    try:
        _expect_printed(run, message.encode())
    except ProbeFailed as exc:
        raise ProbeFailed("with the echo split into 1-byte segments, the client printed "
                          "only part of it", hint="loop on recv() until as many bytes as were "
                          "sent are back; one recv() is not one message",
                          evidence=exc.evidence) from None


@probe(SUITE, "shutdown/clean-close", depends=(BASIC,), timeout=15.0)
def clean_close(ctx: ProbeContext) -> None:
    """The client closes with FIN, not RST, having read everything it was sent.

    A 3,000-byte echo sent in one write: a client that reads once and closes
    leaves data unread, and the kernel answers its close with RST.
    Source: docs/labs.md §14 ("close cleanly (FIN, no reset, nothing left unread)").
    """
    message = _message(ctx, 3000)
    run, _ = _serve(ctx, message)
    _expect_success(run)


#: What an echo client that did not give up cleanly is told.
_GIVE_UP = Hints(hung="recv() returning b'' means the server closed: stop reading, report it, "
                      "exit non-zero",
                 exit_zero="exit non-zero (sys.exit(1)) when the echo could not be completed")


def _expect_clean_error(ctx: ProbeContext, run: ClientRun, situation: str) -> None:
    ctx.log(f"status {run.status}; stderr {run.stderr.decode('utf-8', 'replace').strip()[:200]!r}")
    judge_gave_up(run, situation, _GIVE_UP)


@probe(SUITE, "errors/refused", timeout=10.0)
def refused(ctx: ProbeContext) -> None:
    """With nothing listening, the client exits non-zero with one line on stderr: no traceback, no hang.

    Source: docs/labs.md §14 ("If the connection is refused").
    """
    with refusing_port(ctx.launcher.listen_host) as port:
        program = ctx.start_client(port=port, message="anyone there?")
        run = ctx.finish_client(program, timeout=5.0, starved_grace=True)
    _expect_clean_error(ctx, run, "connection refused")


@probe(SUITE, "errors/closed-early", timeout=10.0)
def closed_early(ctx: ProbeContext) -> None:
    """A server that accepts and closes without replying: the client exits non-zero with one line on stderr.

    No traceback and no hang (a loop that ignores recv() == b'' spins forever).
    Source: docs/labs.md §14 ("a server that closes early").
    """
    listener = ctx.listen()
    program = ctx.start_client(port=listener.getsockname()[1], message="hello?")
    conn = ctx.accept(listener, deadline=ctx.reply_deadline(5.0))
    if conn is not None:
        conn.read_exactly(6, deadline=ctx.reply_deadline())
        conn.close()
        ctx.log("accepted, read the message, closed without replying")
    run = ctx.finish_client(program, timeout=5.0, starved_grace=True)
    _expect_clean_error(ctx, run, "server closed without replying")


@probe(SUITE, "partial/large-message", depends=(BASIC,), timeout=30.0,
       params=(Param("bytes", 120 * 1024, "bytes", "size of the message (argv caps one word at 128 KiB)"),))
def large_message(ctx: ProbeContext) -> None:
    """A {bytes} message while the server reads slowly: every byte arrives and is printed.

    The largest message argv carries (Linux caps one argument at 128 KiB).
    The grader's small receive window and segment size make the client's
    send buffer fill, so send() without sendall() loses data. Source: docs/labs.md §14.
    """
    size = ctx.param_int("bytes")
    message = ctx.rng.randbytes(size).translate(_TO_LETTERS).decode()
    listener = ctx.listen()
    # A small receive buffer and a small MSS keep the client's send buffer small (Linux
    # sizes it from the MSS), so its send buffer fills and a bare send() comes up short.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    program = ctx.start_client(port=listener.getsockname()[1], message=message)
    conn = accept_client(ctx, listener, program, wait=5.0,
                         hint="connect to the given host and port")
    data = message.encode()
    received = bytearray()
    while len(received) < len(data):  # each read may wait the reply timeout (idle limit)
        chunk = conn.read_some(deadline=ctx.reply_deadline(), cap=4096)
        received += chunk.data
        if not chunk.complete:
            break
        time.sleep(0.0005)  # the slow reader is the stimulus
    ctx.log(f"received {len(received)} of {len(data)} bytes slowly")
    if bytes(received) != data:
        raise mismatch("the server did not receive the whole message", sent=None, expected=data,
                       actual=bytes(received), end=None,
                       hint="use sendall(): send() may send only part of the buffer")
    conn.send_all(data, deadline=ctx.reply_deadline())
    _expect_fin(ctx, conn)
    conn.close()
    run = ctx.finish_client(program, timeout=5.0, starved_grace=True)
    _expect_success(run)
    if data not in run.stdout and run.output.stdout_total < len(data):
        raise ProbeFailed("the client did not print the whole echo",
                          hint="loop on recv() until every byte is back",
                          evidence=Evidence(expected=f"{len(data)} bytes",
                                            actual=f"{run.output.stdout_total} bytes printed"))
