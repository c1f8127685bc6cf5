"""Probes every TCP server lab shares, written once and registered per suite.

Theory of operation: a requirement such as "a client that resets leaves the
server serving" or "no busy loop while idle" is the same in every server
lab; only the conversation differs.  A suite describes its conversation as a
:class:`ServerLab`: a ``session`` (one complete, valid exchange on an open
connection, raising :class:`~grader.verdict.ProbeFailed` when the reply is
wrong) and an ``opening`` (the start of a session, left unfinished).
:func:`register` then registers the chosen shared probes under the suite
with docstrings that cite the suite's lab.  Probe ids are the same in every
suite (``robustness/client-reset``...), so reports and selections read alike.

The ``resources`` probes each run on a lane of their own (their own server
instance, concurrently with the main lane), because they watch the process
over an idle second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from grader.context import ProbeContext
from grader.events import Closed, Done, Overflow, Reset, Timeout
from grader.launch.base import Program, cpu_seconds, process_stats, runnable, tcp_states
from grader.net import Conn
from grader.probes import queues
from grader.probes.common import wait_for
from grader.probes.registry import Param, ProbeFunc
from grader.probes.shared import LabProfile, SharedProbes
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt

#: One complete, valid exchange on ``conn``; the int numbers the session (for payloads).
Session = Callable[[ProbeContext, Conn, int], None]
#: The start of a session, left unfinished (a request without its end).
Opening = Callable[[ProbeContext, Conn], None]

CLIENT_RESET = "robustness/client-reset"
SEQUENTIAL = "robustness/sequential-clients"
CLOSES_AFTER_REPLY = "shutdown/closes-after-reply"
NO_FD_LEAK = "resources/no-fd-leak"
IDLE_CPU = "resources/idle-cpu"
IDLE_CPU_CLIENT = "resources/idle-cpu-client"
RESET_BEFORE_REPLY = "robustness/reset-before-reply"
RESET_DURING_REPLY = "robustness/reset-during-reply"
#: Every shared probe, in registration order (the reset probes need their ServerLab hooks).
ALL = (CLOSES_AFTER_REPLY, CLIENT_RESET, SEQUENTIAL, NO_FD_LEAK, IDLE_CPU, IDLE_CPU_CLIENT)
#: The parameters of every idle-CPU probe (:func:`measure_idle_cpu`).
IDLE_PARAMS = (Param("seconds", 1.0, "seconds", "length of the idle window"),
               Param("max_cpu", 0.05, "share", "most CPU the program may use while idle"))
#: Bytes of the reply already read when ``reset-during-reply`` resets.
DURING_REPLY_READ = 64 * 1024
#: Seconds the server's queues must stand still before ``reset-during-reply`` resets.
SETTLE = 0.05

#: Seconds the reset-before-reply probe waits for the server to close the reset connection.
RESET_GRACE = 1.0


@dataclass(frozen=True, kw_only=True)
class ServerLab(LabProfile):
    """How a TCP server family's clients talk, for the shared probes (:data:`SERVER`).

    ``depends`` are the family's probes that must pass first (its basic
    request); ``sequential_count`` is the default number of clients of
    ``robustness/sequential-clients`` (the probe's ``count`` param overrides).
    """

    session: Session
    opening: Opening
    depends: tuple[str, ...]
    sequential_count: int = 1000
    #: The server closes each connection after its reply (set by :func:`register`).
    closes_after_reply: bool = False
    #: The bytes of one complete, valid request (numbered like ``session``), for
    #: ``robustness/reset-before-reply``.
    request: Callable[[ProbeContext, int], bytes] | None = None
    #: A complete, valid request whose reply is large (a MiB or more), for
    #: ``robustness/reset-during-reply``.
    bulk: Callable[[ProbeContext], bytes] | None = None
    #: The suite's probe proving large replies work: ``reset-during-reply`` depends on it,
    #: so a server that cannot send a large reply is not failed twice for it.
    bulk_depends: tuple[str, ...] = ()


#: The probes every TCP server lab shares, declared below and registered per family by
#: :func:`register`.
SERVER: SharedProbes[ServerLab] = SharedProbes(default_depends=lambda lab: lab.depends)


class _Farewell:
    """Ends the connections of a run of clients so no TIME_WAIT is left on the server's port.

    For a lab whose server closes after its reply, the grader reads up to
    that FIN before closing, so its own close is an RST
    (:meth:`grader.net.Conn.close`) and never crosses the server's FIN (a
    simultaneous close leaves TIME_WAIT on both sides, RFC 9293 section
    3.6).  A server that does not close promptly is judged by
    ``shutdown/closes-after-reply``; here the waiting stops after the first
    such client, so a run of clients never costs more than one short wait.
    """

    WAIT = 0.5

    def __init__(self, lab: ServerLab) -> None:
        self._waiting = lab.closes_after_reply

    def close(self, ctx: ProbeContext, conn: Conn) -> None:
        if self._waiting:
            end = conn.read_to_eof(deadline=min(ctx.deadline, time.monotonic() + self.WAIT),
                                   cap=64 * 1024).end
            self._waiting = isinstance(end, Closed)
        conn.close()


def close_wait(ctx: ProbeContext) -> int:
    """How many of the server's sockets are in CLOSE_WAIT (the peer closed, the program not)."""
    assert ctx.program is not None
    return tcp_states(ctx.program.pids()).get("CLOSE_WAIT", 0)


#: The hint of a busy server (the default of :func:`measure_idle_cpu`).
_IDLE_HINT = ("block in accept()/recv()/select() instead of polling; a select() that "
              "watches sockets for writing with nothing to write returns at once, forever; "
              "a loop that ignores recv() == b'' spins too")


#: Seconds between two looks at the program's thread states during an idle window.
RUNNABLE_SAMPLE = 0.02
#: Share of the looks in which a thread may be runnable before an idle program counts as busy.
RUNNABLE_LIMIT = 0.5
#: Fewest looks for the runnable share to count (a grader starved of CPU looks less often).
RUNNABLE_LOOKS = 10
#: Every how many looks the program's CPU time is read during an idle window (for the early
#: verdict; one read of ``/proc/PID/stat`` a process).
CPU_LOOK_EVERY = 5
#: The early verdict's margin: the window ends early only once the program has used more CPU
#: than the limit allows over this many windows, so the verdict stays what the whole window
#: would have given unless the grader itself overran the window that much.
EARLY_MARGIN = 2.0


def measure_idle_cpu(ctx: ProbeContext, label: str, *, program: Program | None = None,
                     hint: str = _IDLE_HINT) -> None:
    """Fail when the program is busy while idle over ``seconds`` (the probe's :data:`IDLE_PARAMS`):
    it used over ``max_cpu`` of a CPU, or one of its threads was runnable (state R: running
    or waiting for a CPU) in over :data:`RUNNABLE_LIMIT` of the looks taken every
    :data:`RUNNABLE_SAMPLE` seconds.

    The second test keeps the verdict the same on a loaded machine: a busy loop that
    gets only a sliver of a CPU there still never blocks, while an idle program sleeps
    in the kernel whatever the load.  The program is the server under test
    (:meth:`ProbeContext.stats`), or ``program`` (a client the probe started), read with
    :func:`~grader.launch.base.process_stats`; ``hint`` is the failure's advice.

    *Early verdict*: the window ends as soon as the failure is certain, so a busy loop is
    judged in a fraction of a second and stops burning a CPU for the rest of the window
    (a program that blocks always gets the whole window).  Certain means: the program has
    already used more CPU than ``max_cpu`` allows over :data:`EARLY_MARGIN` windows (CPU
    time only grows), or a thread was runnable in more looks than half the most the window
    can take (one every :data:`RUNNABLE_SAMPLE` seconds, so at most ``seconds /
    RUNNABLE_SAMPLE + 1``).  Either way the whole window would have failed it too.
    """
    window = ctx.param_float("seconds")
    limit = ctx.param_float("max_cpu")

    def pids() -> list[int]:
        if program is not None:
            return program.pids()
        return ctx.program.pids() if ctx.program is not None else []

    def cpu() -> float:
        if program is None:
            return ctx.stats().cpu_seconds
        stats = process_stats(program.pids())
        if stats is None:
            raise ProbeFailed("the program is no longer running",
                              hint="it exited or crashed while it should wait for input",
                              evidence=Evidence(actual=f"exit status {program.poll()}"))
        return stats.cpu_seconds

    watched = pids()
    before = cpu()
    quick_before = cpu_seconds(watched)
    certain_cpu = limit * window * EARLY_MARGIN
    certain_busy = RUNNABLE_LIMIT * (math.floor(window / RUNNABLE_SAMPLE) + 1)
    started = time.monotonic()
    end = started + window
    looks = busy = 0
    decided = False
    while (now := time.monotonic()) < end:  # the measurement window itself, not a readiness wait
        looks += 1
        busy += runnable(watched)
        if busy > certain_busy:
            decided = True
            break
        if looks % CPU_LOOK_EVERY == 0 and quick_before is not None:
            used_now = cpu_seconds(watched)
            if used_now is not None and used_now - quick_before > certain_cpu:
                decided = True
                break
        time.sleep(min(RUNNABLE_SAMPLE, end - now))
    used = cpu() - before
    elapsed = time.monotonic() - started
    share = used / elapsed
    over = (f"{elapsed:.2f} s of the {window:g} s window (ended early: the verdict was certain)"
            if decided else f"{window:g} s")
    ctx.log(f"{label}: {used:.3f} CPU s over {over} ({share:.1%}); "
            f"runnable in {busy} of {looks} looks")
    spinning = looks >= RUNNABLE_LOOKS and busy > RUNNABLE_LIMIT * looks
    if share > limit or spinning or decided:
        raise ProbeFailed(
            f"busy loop: {share:.0%} CPU while idle {label}, runnable in {busy} of {looks} looks",
            hint=hint,
            evidence=Evidence(expected=f"under {limit:.0%} CPU over {window:g} s, and blocked "
                                       f"(not runnable) in most looks",
                              actual=f"{used:.3f} CPU seconds over {over} ({share:.0%}); a "
                                     f"thread runnable in {busy} of {looks} looks"),
        )


def expect_close(ctx: ProbeContext, conn: Conn, *, after: str = "its reply") -> None:
    """Require the server to close ``conn`` (FIN) with nothing more sent after ``after``.

    Raises ProbeFailed for extra bytes, a reset or no close before the reply deadline.
    """
    result = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=4096)
    ctx.log(f"after {after}: {len(result.data)} more bytes, {result.end.describe()}")
    if result.data:
        raise ProbeFailed(
            f"the server sent {len(result.data)} more bytes after {after}",
            hint="send exactly the reply (no extra newline or prompt), then close",
            evidence=Evidence(expected="EOF (FIN)", actual=excerpt(result.data),
                              transport=result.end.describe()),
        )
    if isinstance(result.end, Timeout | Overflow):
        raise ProbeFailed(
            f"the server did not close the connection after {after}",
            hint="close the client's socket once the reply is sent (a 'with conn:' block)",
            evidence=Evidence(expected="EOF (FIN)", actual="the connection stayed open",
                              transport=result.end.describe()),
        )
    if isinstance(result.end, Reset):
        raise ProbeFailed(
            f"the server reset the connection after {after} instead of closing it",
            hint="close normally after sending everything; a crash or unread input sends RST",
            evidence=Evidence(expected="EOF (FIN)", actual="RST", transport=result.end.describe()),
        )
    assert isinstance(result.end, Closed)


def register(lab: ServerLab, *, which: Iterable[str] = ALL) -> None:
    """Register the shared probes named in ``which`` under ``lab.suite`` (see :data:`SERVER`).

    Raises ValueError for an unknown name, a missing hook, or one already
    registered in the family.
    """
    which = tuple(which)
    if CLOSES_AFTER_REPLY in which:
        lab = replace(lab, closes_after_reply=True)
    SERVER.register(lab, which)


@SERVER.probe(
    "shutdown/closes-after-reply", timeout=10.0,
    requirement=(
        "After its reply the server closes the connection (FIN), sending nothing more. "
        "Source: {source} (the reply, then close)."
    ),
)
def _closes_after_reply(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        with ctx.connect() as conn:
            lab.session(ctx, conn, 0)
            expect_close(ctx, conn)

    return probe


@SERVER.probe(
    "robustness/client-reset", timeout=10.0,
    requirement=(
        "A client that resets its connection mid-request (SO_LINGER 0, RST) leaves the server "
        "serving the next client. Source: {source}; docs/labs.md §1 (\"dies on a client reset\")."
    ),
)
def _client_reset(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        first = ctx.connect()
        lab.opening(ctx, first)
        first.abort()
        ctx.log("first client sent part of a request, then RST")
        try:
            with ctx.connect() as second:
                lab.session(ctx, second, 0)
        except ProbeFailed as exc:
            raise ProbeFailed(
                f"after a client reset, the next client was not served: {exc.reason}",
                hint="catch ConnectionResetError (OSError) around the client's recv/send, "
                     "close that socket and keep serving",
                evidence=exc.evidence,
            ) from None

    return probe


def _next_client_served(ctx: ProbeContext, lab: ServerLab, moment: str, hint: str) -> None:
    """After a reset, a new client must get a complete, correct session."""
    try:
        with ctx.connect() as second:
            lab.session(ctx, second, 0)
    except ProbeFailed as exc:
        raise ProbeFailed(f"after a client reset {moment}, the next client was not served: "
                          f"{exc.reason}", hint=hint, evidence=exc.evidence) from None


_SEND_RESET_HINT = ("a send to a client that has reset raises ConnectionResetError or "
                    "BrokenPipeError: catch OSError around sendall() too, close that socket "
                    "and keep serving")


@SERVER.probe(
    "robustness/reset-before-reply", timeout=10.0,
    needs=lambda lab: None if lab.request else "the ServerLab's request hook",
    requirement=(
        "A client that sends a complete request and resets before the reply leaves the server "
        "serving the next client: the server reads the request, and the send of its reply "
        "fails (ConnectionResetError). The server is stopped (SIGSTOP) while the request and "
        "the reset arrive, so the moment is the same on any machine; the next client "
        f"connects once the server has closed the reset connection (at most {RESET_GRACE:g} s). "
        "Source: {source}; docs/labs.md §1 (\"dies on a client reset\")."
    ),
)
def _reset_before_reply(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        assert lab.request is not None
        request = lab.request(ctx, 0)
        conn = ctx.connect()
        pair = queues.ends(conn)  # the server's end is looked up by these after the reset
        # Stop the server only once it has accepted the connection: a reset that reaches a
        # connection still in the accept queue may never be seen by an iterative server.
        pids = ctx.program.pids() if ctx.program is not None else []
        end = wait_for(lambda: e if (e := queues.server_end(ctx, conn)) is not None
                       and queues.accepted(pids, e.inode) else None,
                       deadline=ctx.reply_deadline())
        taken = end is not None
        ctx.log("the server accepted the connection" if taken else
                "the server did not accept the connection in time; resetting anyway")
        with ctx.frozen():
            sent = conn.send_all(request, deadline=ctx.reply_deadline())
            if not isinstance(sent, Done):
                raise ProbeFailed(f"the request could not be sent: {sent.describe()}",
                                  evidence=Evidence(transport=sent.describe()))
            acked = wait_for(lambda: True if not queues.unacked(conn) else None,
                             deadline=ctx.reply_deadline())
            if acked is None:
                raise ProbeError("the server's kernel did not acknowledge the request")
            conn.abort()
            if end is not None and pair is not None:  # the server's kernel processed the reset
                wait_for(lambda: True if queues.server_end_at(ctx, *pair) is None else None,
                         deadline=ctx.reply_deadline())
            ctx.log(f"sent a complete request ({len(request)} bytes), then RST, while the server "
                    "was stopped: it reads the request, and its reply meets the reset")
        if end is not None:
            # The next client comes once the server has dealt with the reset connection (closed
            # it, or died), so this probe judges the reset alone: a server whose threads share
            # one connection variable would otherwise hand the reply to the next client, which
            # the concurrency probes judge.  A server that never closes it costs RESET_GRACE.
            closed = wait_for(lambda: True if not queues.accepted(pids, end.inode) else None,
                              deadline=min(ctx.reply_deadline(), time.monotonic() + RESET_GRACE))
            ctx.log("the server closed the reset connection" if closed else
                    f"the server still holds the reset connection after {RESET_GRACE:g} s")
        _next_client_served(ctx, lab, "right after its request", _SEND_RESET_HINT)

    return probe


@SERVER.probe(
    "robustness/reset-during-reply", timeout=20.0,
    depends=lambda lab: (*lab.depends, *lab.bulk_depends),
    needs=lambda lab: None if lab.bulk else "the ServerLab's bulk hook",
    requirement=(
        "A client that resets while the server is still sending a large reply leaves the server "
        "serving the next client: the sendall() in progress fails (ConnectionResetError). The "
        f"grader reads the first {DURING_REPLY_READ // 1024} KiB with a small receive window, "
        "then reads no more and resets once the reply is backed up in the server's socket and "
        f"its queues stand still for {SETTLE:g} s (the server is blocked sending, or waits "
        "to send). The reply is larger than the kernel's largest send buffer (tcp_wmem, "
        "4 MiB by default). "
        f"Source: {{source}}; docs/labs.md §1 (\"dies on a client reset\")."
    ),
)
def _reset_during_reply(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        assert lab.bulk is not None
        request = lab.bulk(ctx)
        conn = ctx.connect(rcvbuf=64 * 1024)
        result = conn.exchange(request, expect=DURING_REPLY_READ, write_first=True,
                               deadline=ctx.reply_deadline(max(ctx.reply_timeout, 10.0)),
                               idle=ctx.reply_timeout)
        if not result.read.complete:
            raise ProbeFailed(
                f"the first {DURING_REPLY_READ} bytes of the reply to a {len(request)}-byte request "
                f"did not come back: {result.read.end.describe()}",
                hint="answer a large request like a small one",
                evidence=Evidence(sent=excerpt(request), actual=excerpt(result.read.data),
                                  transport=result.read.end.describe()))
        # Write the rest of the request without reading: an event-loop server reads it all and
        # queues the reply it cannot send; a thread-per-client one stops reading in sendall().
        pushed, _ = conn.push(request[result.sent:], deadline=ctx.reply_deadline(), idle=SETTLE * 4)
        ctx.log(f"sent {result.sent + pushed} of {len(request)} request bytes")

        def queued() -> tuple[int, int] | None:
            end = queues.server_end(ctx, conn)
            return (end.unsent, end.unread) if end is not None and end.unsent else None

        def blocked_in_send() -> bool | None:
            # The reply is backed up in the server's socket and nothing moves for SETTLE
            # seconds (the grader reads no more): a thread-per-client server is blocked in
            # sendall(), an event loop waits to write its queued reply.  The reset reaches
            # the reply in progress.
            first = queued()
            if first is None:
                return None
            until = time.monotonic() + SETTLE
            while time.monotonic() < until:
                if queued() != first:
                    return None
                time.sleep(0.005)  # samples the kernel's queues over the settle window
            return True

        blocked = wait_for(blocked_in_send, deadline=ctx.reply_deadline())
        ctx.log(f"read {DURING_REPLY_READ} bytes of the reply; the server "
                f"{'is blocked sending' if blocked else 'was not seen blocked sending'}; RST")
        conn.abort()
        _next_client_served(ctx, lab, "while the server was sending its reply", _SEND_RESET_HINT)

    return probe


@SERVER.probe(
    "robustness/sequential-clients", timeout=60.0,
    params=lambda lab: (Param("count", lab.sequential_count, "count",
    "clients, one after another"),),
    requirement=(
        "{count} clients, one after another, are each served. "
        "Source: {source}; docs/labs.md §1 (\"one client after "
        "another, forever\")."
    ),
)
def _sequential(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        count = ctx.param_int("count")
        farewell = _Farewell(lab)
        for index in range(count):
            try:
                with ctx.connect() as conn:
                    lab.session(ctx, conn, index)
                    farewell.close(ctx, conn)
            except ProbeFailed as exc:
                raise ProbeFailed(f"client {index + 1} of {count} failed: {exc.reason}",
                                  hint=exc.hint if index == 0 else
                                  "it stops serving after a number of clients: leaked sockets "
                                  "or files, a fixed loop count, or a crash (see stderr)",
                                  evidence=exc.evidence) from None
        ctx.log(f"{count} clients served")

    return probe


@SERVER.probe(
    "resources/no-fd-leak", timeout=10.0, lane="fds",
    requirement=(
        "No file descriptors leak: after 50 clients come and go the open-fd count returns to its "
        "start. Source: {source}; docs/labs.md §1 (\"never closes\")."
    ),
)
def _no_fd_leak(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        baseline = ctx.stats().fds
        farewell = _Farewell(lab)
        for index in range(50):
            with ctx.connect() as conn:
                lab.session(ctx, conn, index)
                farewell.close(ctx, conn)
        ctx.log(f"baseline {baseline} fds; 50 clients closed")
        settled = wait_for(lambda: (f if (f := ctx.stats().fds) <= baseline else None),
                           deadline=ctx.reply_deadline())
        if settled is None:
            now = ctx.stats().fds
            raise ProbeFailed(
                f"open file descriptors grew from {baseline} to {now} after 50 clients left",
                hint="close every accepted socket and every opened file when its client is done "
                     "(use 'with' blocks)",
                evidence=Evidence(expected=f"<= {baseline} open fds", actual=f"{now} open fds"),
            )

    return probe


@SERVER.probe(
    "resources/idle-cpu", timeout=10.0, lane="idle",
    params=lambda _lab: IDLE_PARAMS,
    requirement=(
        "No busy loop: at most {max_cpu} CPU over {seconds} of idleness with no client connected (after one "
        "left). Source: {source}; docs/labs.md §1 (\"spins at 100% CPU\")."
    ),
)
def _idle_cpu(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        with ctx.connect() as conn:
            lab.session(ctx, conn, 0)
        wait_for(lambda: True if not close_wait(ctx) else None, deadline=ctx.reply_deadline())
        measure_idle_cpu(ctx, "with no client")

    return probe


@SERVER.probe(
    "resources/idle-cpu-client", timeout=10.0, lane="idle-client",
    params=lambda _lab: IDLE_PARAMS,
    requirement=(
        "No busy loop: at most {max_cpu} CPU over {seconds} of idleness with one connected, silent client, "
        "which is then served. Source: {source}; docs/labs.md §3 (\"busy loop while idle\")."
    ),
)
def _idle_cpu_client(lab: ServerLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        with ctx.connect() as conn:
            ctx.log("connected, silent")
            measure_idle_cpu(ctx, "with a silent client connected")
            try:
                lab.session(ctx, conn, 0)
            except ProbeFailed as exc:
                raise ProbeFailed(f"the client was not served after an idle second: {exc.reason}",
                                  hint="keep waiting for a slow client's request; do not time "
                                       "out clients", evidence=exc.evidence) from None

    return probe
