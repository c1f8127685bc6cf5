"""Probes for chat clients (family ``chat-user``; docs/labs.md §16).

Theory of operation: the grader plays the lab 7 chat server (docs/labs.md §7)
and the person at the keyboard.  Each probe opens a listener, starts the
client as ``ENTRY HOST PORT USERNAME`` with a fresh seeded username, accepts
it, sends the prompt and reads the first line, which must be the username
(the lines the client sends are read with :class:`grader.codecs.lines.LineDecoder`);
the client then gets the welcome.  The strings are the assignment's
``[protocol]`` table (:class:`grader.codecs.chat.ChatStrings`, the lab 7
defaults), so a course with other strings edits its TOML, not this code.

"Typing" is writing to the client's standard input
(:meth:`grader.launch.base.Program.write_stdin`); stdin otherwise stays open
and idle, and closing it is the user's EOF (Ctrl-D).  What the client prints
is read from its captured stdout while it runs: a line counts as printed once
a line of stdout contains it (a prompt such as ``> `` or the server's own
prompt may come before it), and lines must appear in the order they were
sent.  Standard output is a pipe; Python programs run with
``PYTHONUNBUFFERED=1`` under both launchers, so a plain ``print()`` reaches the
grader at once (a program in another language must flush after each line).

Where a probe needs the client to have taken one segment before the next one
goes, it waits until every thread of the client waits for its next event
on two looks in a row (:func:`grader.launch.quiet.blocked`), bounded by the
reply deadline, so the
verdict does not depend on the machine's load.  A client still running at a
probe's deadline is killed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from grader.codecs.base import ProtocolError
from grader.codecs.chat import ChatStrings
from grader.codecs.lines import LineDecoder, encode_line
from grader.context import ProbeContext
from grader.events import Closed, Done, Event, Reset
from grader.launch.base import Output, Program, threads_at_work
from grader.launch.quiet import blocked
from grader.net import Conn
from grader.probes.common import accept_client, wait_for
from grader.probes.generic import IDLE_PARAMS, measure_idle_cpu
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt

SUITE = "chat-user"
BASIC = "join/username"
probe = REGISTRY.probe

#: Seconds a client may take to start and connect (a loaded machine starts Python slowly).
_CONNECT_WAIT = 5.0
#: Longest line accepted from the client, in bytes (the long typed line is far shorter).
_MAX_LINE = 1024 * 1024
#: Words of the seeded chat lines.
_WORDS = ("halo", "apa", "kabar", "baik", "terima", "kasih", "selamat", "pagi", "kopi",
          "socket", "server", "chat", "line", "42", "ok", "sampai", "jumpa", "ya")
_PRINT_HINT = ("read the socket while input() waits: a thread that receives and prints, or "
               "select() on both the socket and stdin; a line that arrives must be printed at "
               "once, not after the next line is typed")


def _strings(ctx: ProbeContext) -> ChatStrings:
    try:
        return ChatStrings.from_protocol(ctx.protocol)
    except ValueError as exc:
        raise ProbeError(f"assignment [protocol] table: {exc}") from None


def _name(ctx: ProbeContext, label: str) -> str:
    """A seeded member name: ``label_xxxxxx``."""
    return f"{label}_{ctx.rng.randrange(16**6):06x}"


def _text(ctx: ProbeContext, words: int = 5) -> str:
    """A seeded chat line of ``words`` words (ASCII: the client's locale is not the subject)."""
    return " ".join(ctx.rng.choice(_WORDS) for _ in range(words))


def _found_in_order(printed: str, expected: Sequence[str]) -> int:
    """How many of ``expected``, from the first, each occur in a later line of ``printed``."""
    lines = printed.splitlines()
    at = found = 0
    for want in expected:
        while at < len(lines) and want not in lines[at]:
            at += 1
        if at >= len(lines):
            break
        found += 1
        at += 1
    return found


def _stdout(program: Program) -> str:
    return program.output().stdout.decode("utf-8", "replace")


@dataclass(kw_only=True)
class _Session:
    """One client connected to the grader's server: the connection, the program, its name."""

    ctx: ProbeContext
    conn: Conn
    program: Program
    name: str
    strings: ChatStrings
    decoder: LineDecoder
    #: ids of the client's threads at work just before the grader last gave it something
    #: (a server line or typed text): only these may be taken for busy loops when
    #: :meth:`settled` waits for it to take what it was given
    at_work: frozenset[str] = frozenset()

    def _stimulus(self) -> None:
        self.at_work = threads_at_work(self.program.pids())

    def send(self, data: bytes) -> Event:
        """Send server bytes to the client."""
        self._stimulus()
        return self.conn.send_all(data, deadline=self.ctx.reply_deadline())

    def send_lines(self, lines: Sequence[str]) -> Event:
        """Send server lines to the client, all in one write (they may arrive together)."""
        return self.send(b"".join(encode_line(line) for line in lines))

    def type(self, text: str) -> None:
        """Write ``text`` to the client's stdin; ProbeFailed when it does not take it."""
        data = text.encode()
        self._stimulus()
        took = self.program.write_stdin(data, deadline=self.ctx.reply_deadline())
        if took < len(data):
            raise ProbeFailed(f"the client took only {took} of {len(data)} bytes typed on stdin",
                              hint="read stdin (input() in a loop) until it ends",
                              evidence=Evidence(actual=f"exit status {self.program.poll()}"))

    def settled(self) -> bool:
        """Wait (bounded by the reply deadline) until every thread of the client waits for
        its next event, or is a busy loop that was already at work before the last stimulus
        (:func:`grader.launch.quiet.blocked`)."""
        return blocked(self.program, deadline=self.ctx.reply_deadline(), loops=self.at_work)

    def read_line(self, *, deadline: float) -> tuple[str | None, Event]:
        """The client's next line, or None and how the wait ended."""
        while True:
            try:
                line = self.decoder.next_message()
            except ProtocolError as exc:
                raise ProbeFailed(f"the client sent a malformed line: {exc}",
                                  hint="send UTF-8 text lines, each ending in a newline",
                                  evidence=Evidence(actual=excerpt(self.decoder.pending))) from None
            if line is not None:
                return line, Done()
            chunk = self.conn.read_some(deadline=deadline, cap=65536)
            self.decoder.feed(chunk.data)
            if not chunk.complete:
                return None, chunk.end

    def wait_printed(self, expected: Sequence[str], *, wait: float) -> int:
        """Wait up to ``wait`` seconds until ``expected`` are printed in order; how many were."""
        deadline = self.ctx.reply_deadline(wait)
        found = wait_for(lambda: len(expected) if _found_in_order(
            _stdout(self.program), expected) == len(expected) else None, deadline=deadline)
        return found if found is not None else _found_in_order(_stdout(self.program), expected)


def _start(ctx: ProbeContext) -> _Session:
    """Listen, start the client with a fresh USERNAME, accept it and send the prompt."""
    strings = _strings(ctx)
    name = _name(ctx, "me")
    listener = ctx.listen()
    program = ctx.start_client(port=listener.getsockname()[1], values={"username": name})
    conn = accept_client(ctx, listener, program, wait=max(ctx.reply_timeout, _CONNECT_WAIT),
                         hint="connect to the host and port given on the command line")
    session = _Session(ctx=ctx, conn=conn, program=program, name=name, strings=strings,
                       decoder=LineDecoder(max_line=_MAX_LINE))
    session.send(strings.prompt.encode())
    ctx.log(f"sent the prompt {strings.prompt!r}")
    return session


def _joined(ctx: ProbeContext) -> _Session:
    """A client past the prompt: its first line must be its USERNAME; it gets the welcome."""
    session = _start(ctx)
    line, end = session.read_line(deadline=ctx.reply_deadline())
    if line is None:
        pending = session.decoder.pending
        if pending.strip() == session.name.encode():
            raise ProbeFailed("the client sent the username without a newline",
                              hint="the username is a line: send (username + '\\n').encode()",
                              evidence=Evidence(expected=excerpt(encode_line(session.name)),
                                                actual=excerpt(pending), transport=end.describe()))
        raise ProbeFailed("after the prompt the client sent no username line "
                          f"({end.describe()})",
                          hint="after connecting, send USERNAME (from the command line) as the "
                               "first line",
                          evidence=Evidence(expected=excerpt(encode_line(session.name)),
                                            actual=excerpt(pending), transport=end.describe()))
    ctx.log(f"first line {line!r}")
    if line != session.name:
        hint = ("send the username exactly, ending in '\\n' only" if line.strip() == session.name
                else "the first line is the username (USERNAME from the command line), "
                     "nothing before it")
        raise ProbeFailed(f"the first line is {line!r}, not the username {session.name!r}",
                          hint=hint, evidence=Evidence(expected=repr(session.name),
                                                       actual=repr(line)))
    session.send_lines([session.strings.welcome])
    return session


def _quiet(session: _Session) -> None:
    """Wait (each wait bounded by the reply timeout) until the client has printed the welcome
    and is blocked again, so that what the grader sends next finds it idle, whatever the
    machine's load: a line sent sooner could join the welcome in one recv()."""
    if session.wait_printed([session.strings.welcome], wait=session.ctx.reply_timeout):
        session.settled()


def _expect_printed(session: _Session, expected: Sequence[str], *, wait: float,
                    situation: str) -> None:
    """Require ``expected`` printed whole and in order within ``wait`` seconds."""
    found = session.wait_printed(expected, wait=wait)
    session.ctx.log(f"{situation}: {found} of {len(expected)} lines printed")
    if found == len(expected):
        return
    printed = _stdout(session.program)
    missing = expected[found]
    pieces = [line for line in printed.splitlines() if line.strip() and line.strip() in missing]
    if pieces:
        raise ProbeFailed(f"{situation}: the line {missing!r} was printed in pieces",
                          hint="one recv() is not one line: print the bytes as they come "
                               "without adding a newline, or keep a buffer and print each "
                               "complete line",
                          evidence=Evidence(expected=repr(missing),
                                            actual=excerpt(printed.encode())))
    raise ProbeFailed(f"{situation}: {found} of {len(expected)} lines printed within "
                      f"{wait:g} s; not printed: {missing!r}",
                      hint=_PRINT_HINT,
                      evidence=Evidence(expected="\n".join(expected[:5]) +
                                        ("\n..." if len(expected) > 5 else ""),
                                        actual=excerpt(printed.encode())))


# -- joining and typing ---------------------------------------------------------


@probe(SUITE, BASIC, weight=2, timeout=15.0)
def username(ctx: ProbeContext) -> None:
    """After the prompt, the first line the client sends is its USERNAME.

    The grader sends the prompt (no newline); the client's first line must be
    exactly USERNAME from its command line, ending in a newline.  Source:
    docs/labs.md §16 ("send USERNAME as the first line").
    """
    session = _joined(ctx)
    ctx.log(f"{session.name} joined")


@probe(SUITE, "send/stdin-lines", depends=(BASIC,), timeout=15.0, params=(
        Param("lines", 8, "count", "short lines typed on stdin"),
        Param("long_bytes", 6000, "bytes", "length of the long line typed"),
        Param("gap", 0.05, "seconds", "least pause between the two pieces of a split line")))
def stdin_lines(ctx: ProbeContext) -> None:
    """Each line typed on stdin reaches the server as one line, in order.

    {lines} short lines and one of {long_bytes} are typed: three in one write,
    one written in two pieces (the second at least {gap} later, once the client
    is blocked again), the rest one per write.  Source: docs/labs.md §16
    ("Send every line read from stdin").
    """
    session = _joined(ctx)
    lines = [_text(ctx, ctx.rng.randint(2, 8)) for _ in range(ctx.param_int("lines"))]
    long_line = ""
    while len(long_line) < ctx.param_int("long_bytes"):
        long_line += _text(ctx, 8) + " "
    lines.insert(len(lines) // 2, long_line[: ctx.param_int("long_bytes")].strip())
    typed = [line + "\n" for line in lines]
    session.type("".join(typed[:3]))
    rest = typed[3:]
    if rest and len(rest[0]) > 2:
        split, rest = rest[0], rest[1:]
        cut = ctx.rng.randint(1, len(split) - 2)
        session.type(split[:cut])
        time.sleep(ctx.param_float("gap"))  # the pause between the pieces is the stimulus
        session.settled()
        session.type(split[cut:])
    for line in rest:
        session.type(line)
    ctx.log(f"typed {len(lines)} lines ({sum(map(len, typed))} bytes)")
    got: list[str] = []
    end: Event = Done()
    deadline = ctx.reply_deadline(max(ctx.reply_timeout, _CONNECT_WAIT))
    while len(got) < len(lines):
        received, end = session.read_line(deadline=deadline)
        if received is None:
            break
        got.append(received)
    ctx.log(f"received {len(got)} lines ({end.describe()})")
    for index, (want, have) in enumerate(zip(lines, got, strict=False)):
        if want == have:
            continue
        shown = Evidence(expected=excerpt(want.encode(), limit=120),
                         actual=excerpt(have.encode(), limit=120))
        if have and want.startswith(have):
            raise ProbeFailed(f"typed line {index + 1} ({len(want)} bytes) reached the server "
                              f"in pieces: the first line sent has {len(have)} bytes",
                              hint="read stdin a line at a time (input() or sys.stdin.readline()),"
                                   " not in fixed-size chunks, and send each line whole with "
                                   "sendall()", evidence=shown)
        raise ProbeFailed(f"typed line {index + 1} reached the server as {have[:60]!r}",
                          hint="send each typed line exactly, in order, ending in '\\n'",
                          evidence=shown)
    if len(got) < len(lines):
        raise ProbeFailed(f"only {len(got)} of the {len(lines)} typed lines reached the server "
                          f"({end.describe()})",
                          hint="send every line read from stdin, at once, each ending in '\\n'",
                          evidence=Evidence(expected=f"{len(lines)} lines",
                                            actual=f"{len(got)} lines", transport=end.describe()))


# -- printing --------------------------------------------------------------------


@probe(SUITE, "print/while-idle", depends=(BASIC,), weight=2, timeout=15.0, params=(
        Param("wait", 2.0, "seconds", "longest wait for the lines to be printed"),))
def while_idle(ctx: ProbeContext) -> None:
    """Lines from the server are printed as they arrive while nothing is typed on stdin.

    Once the welcome is printed and the client waits again, another member
    joins and speaks; with stdin open and idle, the welcome, the join notice
    and the message are printed within {wait}.  A client that prints only
    after its next input() fails.  Source: docs/labs.md §16 ("even while nothing is typed on stdin").
    """
    session = _joined(ctx)
    _quiet(session)
    other = _name(ctx, "budi")
    lines = [session.strings.joined(other), session.strings.said(other, _text(ctx))]
    session.send_lines(lines[:1])
    session.send_lines(lines[1:])
    _expect_printed(session, [session.strings.welcome, *lines], wait=ctx.param_float("wait"),
                    situation="stdin idle")


@probe(SUITE, "print/coalesced", depends=(BASIC,), timeout=15.0, params=(
        Param("lines", 40, "count", "server lines sent in one write"),
        Param("wait", 2.0, "seconds", "longest wait for the lines to be printed")))
def coalesced(ctx: ProbeContext) -> None:
    """{lines} server lines sent together are each printed whole, in order.

    They arrive in one write (a few KiB: more than one recv(1024)).  Source:
    docs/labs.md §16 ("Print every line from the server").
    """
    session = _joined(ctx)
    _quiet(session)
    members = [_name(ctx, label) for label in ("budi", "citra", "dewi")]
    lines = [session.strings.said(ctx.rng.choice(members), f"{index} {_text(ctx, 8)}")
             for index in range(ctx.param_int("lines"))]
    session.send_lines(lines)
    _expect_printed(session, lines, wait=ctx.param_float("wait"), situation="lines sent together")


@probe(SUITE, "print/split-line", depends=(BASIC,), timeout=15.0, params=(
        Param("pieces", 3, "count", "segments the line is cut into"),
        Param("gap", 0.05, "seconds", "least pause between the segments"),
        Param("wait", 2.0, "seconds", "longest wait for the line to be printed")))
def split_line(ctx: ProbeContext) -> None:
    """A server line that arrives in {pieces} segments is printed whole, as one line.

    Each segment goes at least {gap} after the previous one, once the client
    has taken it and is blocked again.  Source: docs/labs.md §16 ("Print every
    line from the server as soon as it arrives").
    """
    session = _joined(ctx)
    _quiet(session)
    line = session.strings.said(_name(ctx, "budi"), _text(ctx, 10))
    data = encode_line(line)
    pieces = ctx.param_int("pieces")
    cuts = sorted(ctx.rng.sample(range(1, len(data)), min(max(0, pieces - 1), len(data) - 1)))
    session.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
        if start:
            time.sleep(ctx.param_float("gap"))  # the pause between the segments is the stimulus
            session.settled()
        session.send(data[start:stop])
        ctx.log(f"sent {data[start:stop]!r}")
    _expect_printed(session, [line], wait=ctx.param_float("wait"), situation="a split line")


# -- ending ------------------------------------------------------------------------


def _output_after(before: Output, after: Output) -> str:
    """What the client printed (stdout and stderr) since ``before``."""
    return (after.stdout[len(before.stdout):] + after.stderr[len(before.stderr):]).decode(
        "utf-8", "replace")


@probe(SUITE, "shutdown/stdin-eof", depends=(BASIC,), timeout=15.0, params=(
        Param("exit_within", 2.0, "seconds", "longest wait for the close, then for the exit"),))
def stdin_eof(ctx: ProbeContext) -> None:
    """At EOF on stdin the client closes the connection with FIN and exits with status 0.

    A line is typed, a server line arrives, then stdin ends: within
    {exit_within} the client must close with FIN (no RST: nothing left unread,
    no SO_LINGER 0), sending nothing more, and once the server closes too it
    must exit 0, without a traceback, within {exit_within}.  Source:
    docs/labs.md §16 ("At EOF on stdin, close the connection cleanly").
    """
    session = _joined(ctx)
    within = ctx.param_float("exit_within")
    text = _text(ctx)
    session.type(text + "\n")
    line, end = session.read_line(deadline=ctx.reply_deadline())
    if line != text:
        raise ProbeFailed(f"the typed line did not arrive before EOF ({end.describe()})",
                          hint="send every line read from stdin",
                          evidence=Evidence(expected=repr(text), actual=repr(line)))
    session.settled()  # the client is back waiting for input: the next line finds it idle
    farewell = session.strings.said(_name(ctx, "budi"), _text(ctx))
    session.send_lines([farewell])
    session.wait_printed([farewell], wait=ctx.reply_timeout)  # printed or not: EOF follows
    session.program.close_stdin()
    ctx.log("stdin closed (EOF)")
    rest = session.conn.read_to_eof(deadline=ctx.reply_deadline(within), cap=65536)
    ctx.log(f"after EOF: {len(rest.data)} bytes, {rest.end.describe()}")
    if rest.data:
        raise ProbeFailed(f"at EOF the client sent {len(rest.data)} more bytes",
                          hint="at EOF send nothing more (the room would get it as a message): "
                               "just close the connection",
                          evidence=Evidence(actual=excerpt(rest.data)))
    if isinstance(rest.end, Reset):
        raise ProbeFailed("at EOF the client reset the connection (RST) instead of closing it "
                          "(FIN)",
                          hint="read everything the server sent before closing (closing with "
                               "unread data sends RST), and do not set SO_LINGER to 0",
                          evidence=Evidence(expected="FIN", actual="RST",
                                            transport=rest.end.describe()))
    if not isinstance(rest.end, Closed):
        raise ProbeFailed(f"the client did not close the connection within {within:g} s of EOF "
                          "on stdin",
                          hint="when input() raises EOFError (or readline() returns ''), "
                               "shut down or close the socket and end",
                          evidence=Evidence(transport=rest.end.describe()))
    session.conn.close()
    run = ctx.finish_client(session.program, timeout=within, starved_grace=True)
    stderr = run.stderr.decode("utf-8", "replace")
    if run.status is None:
        raise ProbeFailed(f"the client did not exit within {within:g} s after EOF and the "
                          "server's close",
                          hint="end every thread (a reader thread stops at recv() == b'') "
                               "and exit", evidence=Evidence(actual="still running"))
    if "Traceback" in stderr:
        raise ProbeFailed("at EOF the client printed a traceback",
                          hint="end quietly at EOF: catch EOFError and the socket's OSError",
                          evidence=Evidence(actual=stderr[-800:]))
    if run.status != 0:
        raise ProbeFailed(f"at EOF the client exited with status {run.status}",
                          hint="EOF on stdin is the normal end: exit 0",
                          evidence=Evidence(expected="0", actual=str(run.status)))


def _server_ends(ctx: ProbeContext, *, reset: bool) -> None:
    """The server closes (FIN) or resets (RST) while stdin is idle; judge the client's exit."""
    session = _joined(ctx)
    within = ctx.param_float("exit_within")
    _quiet(session)
    before = session.program.output()
    how = "reset" if reset else "closed"
    if reset:
        session.conn.abort()
    else:
        session.conn.close()
    ctx.log(f"server {how} the connection; stdin stays open")
    started = time.monotonic()
    status = session.program.wait(within)
    run = ctx.finish_client(session.program, timeout=0.0)
    ctx.log(f"status {status} after {time.monotonic() - started:.3f} s")
    said = _output_after(before, run.output)
    stderr = run.stderr.decode("utf-8", "replace")
    if status is None:
        raise ProbeFailed(f"the server {how} the connection and the client did not exit within "
                          f"{within:g} s (it hung, still waiting in input()?)",
                          hint="recv() returning b'' (or raising ConnectionResetError) means the "
                               "server is gone: say so and end the program, even while input() "
                               "waits (select() on stdin and the socket, or os._exit from the "
                               "reader thread)",
                          evidence=Evidence(actual=excerpt(said.encode())))
    if "Traceback" in stderr:
        raise ProbeFailed(f"the server {how} the connection and the client printed a traceback",
                          hint="catch the socket error (OSError: ConnectionResetError) and print "
                               "one clear line",
                          evidence=Evidence(actual=stderr[-800:]))
    if not said.strip():
        raise ProbeFailed(f"the server {how} the connection and the client exited without "
                          "saying so",
                          hint="print a line such as 'connection closed by the server' before "
                               "exiting", evidence=Evidence(actual=f"exit status {status}"))


@probe(SUITE, "shutdown/server-close", depends=(BASIC,), timeout=15.0, params=(
        Param("exit_within", 2.0, "seconds", "longest wait for the client to exit"),))
def server_close(ctx: ProbeContext) -> None:
    """When the server closes the connection (FIN), the client says so and exits within {exit_within}.

    stdin stays open and idle: a client stuck in input() hangs and fails; so
    does a traceback.  Source: docs/labs.md §16 ("when the server closes, say so
    and exit").
    """
    _server_ends(ctx, reset=False)


@probe(SUITE, "shutdown/server-reset", depends=(BASIC,), timeout=15.0, params=(
        Param("exit_within", 2.0, "seconds", "longest wait for the client to exit"),))
def server_reset(ctx: ProbeContext) -> None:
    """When the server resets the connection (RST), the client says so and exits within {exit_within}.

    recv() raises ConnectionResetError: no traceback, no hang.  Source:
    docs/labs.md §16 ("when the server closes, say so and exit").
    """
    _server_ends(ctx, reset=True)


@probe(SUITE, "resources/idle-cpu", depends=(BASIC,), timeout=15.0, params=IDLE_PARAMS)
def idle_cpu(ctx: ProbeContext) -> None:
    """No busy loop: while stdin and the socket are idle the client uses at most {max_cpu} CPU
    over {seconds}.

    Source: docs/labs.md §16 ("even while nothing is typed on stdin").
    """
    session = _joined(ctx)
    _quiet(session)
    measure_idle_cpu(ctx, "with stdin and the socket idle", program=session.program,
                     hint="block in input(), recv() or select() with no timeout instead of "
                          "polling a non-blocking socket (or select() with a zero timeout) in "
                          "a loop")

