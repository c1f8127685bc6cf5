"""Probes for UDP echo clients (family ``udp-client``; docs/labs.md §15).

Theory of operation: the grader is the server.  Each probe binds a fresh
datagram socket on the launcher's listen address, serves it with a
:class:`grader.udp_server.UdpServer` whose :class:`~grader.udp_server.Plan`
plays one kind of network or server (normal, a stranger's datagram first,
the first request lost, the reply duplicated or overtaken by the
retransmission, silent, absent), starts the client as ``ENTRY HOST PORT
MESSAGE`` and waits for it to exit within a bound (``within``, seconds from
its start).  The verdict comes from what the server received (each request
with its time) and from the client's exit status, stdout and stderr.  The
judging functions below take plain data (requests, a :class:`ClientRun`), so
they are unit-tested without sockets.  A client still running at the bound
is killed and fails for hanging.  Each probe has a server and a client of
its own, so ``errors/silent-server``, which waits out a correct client's
retries (and the whole bound for one without a timeout), runs in a lane of
its own beside the rest.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from grader.context import ClientRun, ProbeContext
from grader.probes.giving_up import Hints, judge_gave_up
from grader.probes.registry import REGISTRY, Param
from grader.udp_server import Action, Plan, Request, UdpServer
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt, mismatch

SUITE = "udp-client"
BASIC = "echo/prints-reply"
RETRY = "retransmit/first-dropped"
probe = REGISTRY.probe

#: The bound on a whole client run (seconds from its start), shared by every probe.
WITHIN = Param("within", 10.0, "seconds", "time the client has to exit, from its start "
               "(keep it below the probe's timeout, 20 s by default)")


# -- judging (plain data in, ProbeFailed out) -------------------------------------------------


def judge_requests(requests: Sequence[Request], message: bytes) -> None:
    """Every datagram the server received is exactly ``message`` (and there is at least one)."""
    if not requests:
        raise ProbeFailed("the server received no datagram from the client",
                          hint="send the message with sendto() (or send() on a connected "
                               "socket) to the host and port given on the command line")
    for request in requests:
        if request.data == message:
            continue
        data = request.data
        if data.startswith(message) and data[len(message):] in (b"\n", b"\r\n"):
            hint = "send exactly the message: no newline added"
        elif len(data) < len(message) and message.startswith(data):
            hint = "send the whole message as one datagram (one sendto() call), not in pieces"
        elif data.decode("utf-8", "replace") == message.decode("utf-8", "replace"):
            hint = "encode the message as UTF-8"
        else:
            hint = "send the message from argv as is, encoded as UTF-8, as one datagram"
        raise mismatch(f"datagram {request.index} is not exactly the message",
                       sent=None, expected=message, actual=data, end=None, hint=hint)


def judge_exit_ok(run: ClientRun) -> None:
    """The client exited by itself with status 0."""
    if run.status is None:
        raise ProbeFailed("the client did not exit (killed at the deadline)",
                          hint="after printing the reply, close the socket and exit",
                          evidence=Evidence(actual=excerpt(run.stdout),
                                            details=("stderr:\n" + _text(run.stderr)[-1500:],)))
    if run.status != 0:
        raise ProbeFailed(f"the client exited with status {run.status}",
                          hint="exit 0 once the reply is printed",
                          evidence=Evidence(details=("stderr:\n" + _text(run.stderr)[-1500:],)))


def judge_printed_once(stdout: bytes, reply: bytes, *, decoy: bytes | None = None) -> None:
    """``reply`` is printed on a line of its own exactly once, and ``decoy`` not at all."""
    text = _text(stdout)
    wanted = reply.decode("utf-8")
    lines = text.splitlines()
    count = lines.count(wanted)
    evidence = Evidence(expected=excerpt(reply), actual=excerpt(stdout))
    if decoy is not None and decoy.decode("utf-8", "replace") in text:
        raise ProbeFailed(
            "the client printed a datagram from another port, not from the server",
            hint="only the server's reply counts: connect() the UDP socket to the server, or "
                 "compare the address recvfrom() returns with the server's and read again",
            evidence=Evidence(expected=excerpt(reply), actual=excerpt(stdout),
                              details=(f"the stranger's datagram: {excerpt(decoy)}",)))
    if count == 1:
        return
    if count > 1:
        raise ProbeFailed(f"the client printed the reply {count} times",
                          hint="print the first reply and stop: a duplicate or late reply "
                               "to a retransmission is the same reply", evidence=evidence)
    reason = "the client did not print the reply"
    longest = max(lines, key=len, default="")
    if repr(reply) in text or repr(reply)[1:] in text:
        hint = "print the reply decoded (data.decode()), not its repr (b'...')"
    elif longest and wanted.startswith(longest):
        size = len(longest.encode())
        reason = f"the client printed a truncated reply ({size} of {len(reply)} bytes)"
        hint = (f"recv({size}) keeps the start of a larger datagram and drops the rest; "
                f"use recv(65535)")
    elif reply.decode("latin-1") in text:
        hint = "decode the reply as UTF-8 (data.decode('utf-8')), not Latin-1"
    elif any(line.strip() == wanted.strip() for line in lines):
        hint = "print the reply exactly, without stripping or adding characters"
    else:
        hint = "print the bytes received back, decoded as UTF-8, on a line of their own"
    raise ProbeFailed(reason, hint=hint, evidence=evidence)


#: What a UDP client that did not give up cleanly is told.
_GIVE_UP = Hints(hung="settimeout() on the socket, retry a few times, then give up with an "
                      "error message",
                 exit_zero="exit non-zero (sys.exit(1)) when no reply came",
                 traceback="catch OSError (ConnectionRefusedError, TimeoutError) and print one "
                           "clear line to stderr instead")


def judge_clean_error(run: ClientRun, situation: str, within: float) -> None:
    """The client gave up by itself: non-zero status, one line on stderr, no traceback."""
    judge_gave_up(run, situation, _GIVE_UP, killed=f"killed after {within:g} s")


def retry_delay(requests: Sequence[Request]) -> float | None:
    """Seconds from the first request to the second (the retransmission), or None."""
    return requests[1].at - requests[0].at if len(requests) >= 2 else None


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# -- running one client against one server ------------------------------------------------------


def _message(ctx: ProbeContext, length: int) -> str:
    """A seeded message of exactly ``length`` ASCII characters: lowercase words and spaces."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    words = ["datagram"]
    while sum(len(w) + 1 for w in words) < length:
        words.append("".join(ctx.rng.choice(alphabet) for _ in range(ctx.rng.randint(3, 9))))
    return " ".join(words)[:length].rstrip().ljust(length, "x")


def _serve(ctx: ProbeContext, message: str, plan: Plan) -> tuple[ClientRun, list[Request]]:
    """Start the client against a server playing ``plan``; wait for it (``within``)."""
    within = ctx.param_float("within")
    sock = ctx.bind_udp()
    with UdpServer(sock, plan=plan, deadline=ctx.deadline, log=ctx.log) as server:
        run = _run_client(ctx, server.address[1], message, within)
    requests, _ = server.snapshot()
    if server.error is not None:
        raise ProbeError(f"the grader's UDP server failed: {server.error!r}")
    ctx.log(f"{len(requests)} request(s) received")
    return run, requests


def _run_client(ctx: ProbeContext, port: int, message: str, within: float) -> ClientRun:
    """Start the client against ``port`` and wait for it, up to ``within`` seconds from its start
    (the start itself included: under Docker, the container's start)."""
    started = time.monotonic()
    program = ctx.start_client(port=port, message=message)
    left = min(within - (time.monotonic() - started), ctx.deadline - time.monotonic())
    run = ctx.finish_client(program, timeout=max(0.1, left), starved_grace=True)
    ended = "killed" if run.status is None else f"exited with status {run.status}"
    ctx.log(f"client {ended} {time.monotonic() - started:.3f} s after its start")
    return run


def _expect_reply_printed(ctx: ProbeContext, message: str, plan: Plan, *,
                          decoy: bytes | None = None) -> list[Request]:
    data = message.encode()
    run, requests = _serve(ctx, message, plan)
    judge_requests(requests, data)
    judge_exit_ok(run)
    judge_printed_once(run.stdout, data, decoy=decoy)
    return requests


# -- the probes -------------------------------------------------------------------------------


@probe(SUITE, BASIC, weight=2, timeout=20.0, params=(WITHIN,))
def prints_reply(ctx: ProbeContext) -> None:
    """The client sends exactly the message as one datagram, prints the reply and exits 0.

    Within {within} of its start. Source: docs/labs.md §15 ("as one datagram to HOST:PORT").
    """
    _expect_reply_printed(ctx, _message(ctx, 40), Plan())


@probe(SUITE, "robustness/foreign-sender", depends=(BASIC,), timeout=20.0, params=(WITHIN,))
def foreign_sender(ctx: ProbeContext) -> None:
    """A datagram from another port, sent just before the server's reply, is ignored.

    The stranger's datagram carries other bytes; the client must print only the
    server's reply (a connected UDP socket drops the stranger's datagram; a
    recvfrom() that trusts anyone prints it). Source: docs/labs.md §15 ("a reply
    from another address or port is not the server's reply").
    """
    decoy = ("not the server: " + _message(ctx, 24)).encode()
    _expect_reply_printed(ctx, _message(ctx, 40), Plan(actions=(Action(decoy=decoy),)),
                          decoy=decoy)


def _retry_report(ctx: ProbeContext, requests: Sequence[Request]) -> float:
    delay = retry_delay(requests)
    if delay is None:
        raise ProbeFailed("the first datagram was lost and the client never sent it again",
                          hint="settimeout() on the socket; when recv() times out, send the "
                               "message again (a few tries)",
                          evidence=Evidence(expected="a second datagram (the retransmission)",
                                            actual=f"{len(requests)} datagram(s)"))
    ctx.log(f"retransmission {delay:.3f} s after the first request")
    return delay


@probe(SUITE, RETRY, depends=(BASIC,), timeout=20.0, params=(WITHIN,))
def first_dropped(ctx: ProbeContext) -> None:
    """The first request is lost: the client sends it again after its timeout and prints the reply.

    The server ignores the first datagram and answers the second; the time
    from the first datagram to the retry is reported. The client must exit 0
    within {within}. Source: docs/labs.md §15 ("If no reply comes within a
    timeout, send again").
    """
    message = _message(ctx, 40)
    run, requests = _serve(ctx, message, Plan(actions=(Action(drop=True),)))
    data = message.encode()
    judge_requests(requests, data)
    if len(requests) < 2 and run.status is None:
        raise ProbeFailed("the first datagram was lost and the client waited forever "
                          "(killed at the deadline)",
                          hint="settimeout() on the socket; when recv() times out, send "
                               "the message again (a few tries)",
                          evidence=Evidence(actual="1 datagram, still running"))
    _retry_report(ctx, requests)
    judge_exit_ok(run)
    judge_printed_once(run.stdout, data)


@probe(SUITE, "retransmit/duplicated-reply", depends=(BASIC,), timeout=20.0, params=(WITHIN,))
def duplicated_reply(ctx: ProbeContext) -> None:
    """The reply arrives twice (duplicated in the network): the client prints it once and exits 0.

    Source: docs/labs.md §15 ("A reply may be duplicated").
    """
    _expect_reply_printed(ctx, _message(ctx, 40), Plan(actions=(Action(copies=2),)))


@probe(SUITE, "retransmit/late-reply", depends=(RETRY,), timeout=20.0, params=(WITHIN,))
def late_reply(ctx: ProbeContext) -> None:
    """The reply to the first request arrives after the retransmission: printed once, exit 0.

    The server holds its first reply until the retry arrives, then answers
    both: two replies reach the client. Source: docs/labs.md §15 ("arrive
    late, after the retransmission: print the reply once").
    """
    message = _message(ctx, 40)
    requests = _expect_reply_printed(ctx, message, Plan(actions=(Action(hold=True),)))
    _retry_report(ctx, requests)


@probe(SUITE, "errors/no-server", timeout=20.0, params=(WITHIN,))
def no_server(ctx: ProbeContext) -> None:
    """With no server (ICMP port unreachable), the client gives up: one stderr line, non-zero exit.

    The port was bound and closed just before the client starts, so the
    kernel answers the datagram with ICMP port unreachable (a connected
    socket's recv() raises ConnectionRefusedError). No traceback, and the
    client exits within {within}. Source: docs/labs.md §15 ("an ICMP port
    unreachable comes back").
    """
    within = ctx.param_float("within")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_sock:
        probe_sock.bind((ctx.launcher.listen_host, 0))
        port = int(probe_sock.getsockname()[1])
    ctx.log(f"port {port} bound and closed: nothing listens there")
    run = _run_client(ctx, port, "anyone there?", within)
    ctx.log(f"stderr {_text(run.stderr).strip()[:200]!r}")
    judge_clean_error(run, "no server (ICMP port unreachable)", within)


@probe(SUITE, "errors/silent-server", timeout=20.0, params=(WITHIN,), lane="silent")
def silent_server(ctx: ProbeContext) -> None:
    """A server that never answers: the client retries, then gives up with one stderr line, non-zero exit.

    No traceback, and the client exits within {within}. Source: docs/labs.md
    §15 ("a server that never answers, give up after a few tries").
    """
    within = ctx.param_float("within")
    run, requests = _serve(ctx, "hello?", Plan.silent())
    if len(requests) >= 2:
        ctx.log(f"{len(requests)} tries, the last {requests[-1].at - requests[0].at:.3f} s "
                f"after the first")
    judge_clean_error(run, "silent server", within)


@probe(SUITE, "partial/largest-datagram", depends=(BASIC,), timeout=20.0,
       params=(WITHIN, Param("bytes", 65507, "bytes", "size of the message (the largest "
                                                      "IPv4 UDP payload)")))
def largest_datagram(ctx: ProbeContext) -> None:
    """A message of {bytes} goes out as one datagram and its reply is printed whole.

    65,507 bytes is the largest UDP payload over IPv4; recv(1024) or any
    buffer smaller than the reply keeps its start and drops the rest.
    Source: docs/labs.md §15 ("up to 65,507 bytes").
    """
    size = ctx.param_int("bytes")
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    message = "".join(ctx.rng.choice(alphabet) for _ in range(size))
    _expect_reply_printed(ctx, message, Plan())


#: Non-ASCII pieces of a message: two- three- and four-byte UTF-8 characters.
_NON_ASCII = ("héllo", "wörld", "ñandú", "снег", "☃", "日本語", "€uro", "🦆")


@probe(SUITE, "echo/non-ascii", depends=(BASIC,), timeout=20.0, params=(WITHIN,))
def non_ascii(ctx: ProbeContext) -> None:
    """A non-ASCII message is sent as UTF-8 and its reply printed unchanged.

    Source: docs/labs.md §15 ("non-ASCII text too").
    """
    words = [ctx.rng.choice(_NON_ASCII) for _ in range(6)]
    _expect_reply_printed(ctx, " ".join(words), Plan())
