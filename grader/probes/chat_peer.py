"""The grader's chat members: many TCP clients of one chat server, driven together.

Theory of operation: a :class:`Room` owns the members one probe creates.
Each :class:`Member` is a connection (through ``ctx.connect``, so it is
tracked and closed when the probe ends) with its own line decoder
(:mod:`grader.codecs.lines`); every received line is recognised with the
assignment's strings (:mod:`grader.codecs.chat`) and filed:

- lines about members of *earlier* probes (a leave notice that arrives
  late) are set aside in ``ignored``: member names carry a per-probe tag,
  so they are never confused with this probe's;
- the member's own join notice and echoes of its own lines go to ``own``
  (the dedicated probes require it to stay empty; the others do not care);
- everything else goes to ``lines``, which the probes judge exactly.

Reading many members at once and writing while reading is one selector
loop (:meth:`Room.run`), bounded by a deadline and by an idle time (no byte
moved in either direction), so a server that freezes ends the wait instead
of hanging it.  A member created with ``reading=False`` is never read: it
plays the client that stopped reading.
"""

from __future__ import annotations

import re
import selectors
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

from grader.codecs.base import ProtocolError
from grader.codecs.chat import ChatLine, ChatStrings
from grader.codecs.lines import LineDecoder, encode_line
from grader.context import ProbeContext
from grader.events import Closed, Event, Reset
from grader.launch.base import tcp_states
from grader.net import Conn, reset_or_raise
from grader.probes.common import wait_for
from grader.probes.queues import Pacer
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt

#: Longest line accepted from the server, in bytes.
MAX_LINE = 1024 * 1024
#: What the member names of any probe look like: ``<label>_<6 hex digits>``.
GRADER_NAME = re.compile(r"[a-z]+[0-9]*_[0-9a-f]{6}")
_WRITE_CHUNK = 256 * 1024


def strings(ctx: ProbeContext) -> ChatStrings:
    """The assignment's chat strings; ProbeError (a grader-side fault) when they are invalid."""
    try:
        return ChatStrings.from_protocol(ctx.protocol)
    except ValueError as exc:
        raise ProbeError(f"assignment [protocol] table: {exc}") from None


class Member:
    """One chat client: ``name``, its connection, and what it received, filed.

    ``lines`` are the judged lines (recognised), ``cursor`` how many of
    them the probe has already judged; ``end`` is set once the server
    closed or reset the connection.
    """

    def __init__(self, room: Room, name: str, conn: Conn, *, reading: bool = True) -> None:
        self.room = room
        self.name = name
        self.conn = conn
        self.reading = reading
        self.decoder = LineDecoder(max_line=MAX_LINE)
        self.lines: list[ChatLine] = []
        self.cursor = 0
        self.own: list[str] = []
        self.ignored: list[str] = []
        self.end: Event | None = None
        self.left = False
        self._said: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"Member({self.name})"

    def messages_from(self, sender: str) -> list[str]:
        """Texts of the judged message lines from ``sender``, in arrival order."""
        return self._said.setdefault(sender, [])

    def poll(self) -> int:
        """Take whatever the server has sent so far, without waiting; bytes read."""
        if self.end is not None or self.conn.closed:
            return 0
        result = self.conn.read_for(0.0, cap=MAX_LINE)
        if result.data:
            self.decoder.feed(result.data)
            try:
                for text in self.decoder.messages():
                    self._file(text)
            except ProtocolError as exc:
                raise ProbeFailed(
                    f"{self.name} received a malformed line: {exc}",
                    hint="send UTF-8 text lines, each ending in \\n",
                    evidence=Evidence(actual=excerpt(result.data)),
                ) from None
        if isinstance(result.end, Closed | Reset):
            self.end = result.end
        return len(result.data)

    def _file(self, text: str) -> None:
        line = self.room.strings.parse(text, known=self.room.names)
        foreign = line.name is not None and line.name not in self.room.names and bool(
            GRADER_NAME.fullmatch(line.name))
        if foreign or text in self.room.tolerated:
            self.ignored.append(text)
        elif line.name == self.name and line.kind in ("join", "message"):
            self.own.append(text)
        else:
            self.lines.append(line)
            if line.kind == "message" and line.name is not None:
                self._said.setdefault(line.name, []).append(line.text or "")

    def send(self, data: bytes, *, chunks: list[int] | None = None, gap: float = 0.0,
             pace: Pacer | None = None) -> None:
        """Send ``data`` now (all of it, before the reply deadline; split by ``chunks``, each
        piece ``gap`` seconds after the one before and, with ``pace``, not before the server
        read it)."""
        sent = self.conn.send_all(data, deadline=self.room.ctx.reply_deadline(), chunks=chunks,
                                  gap=gap, pace=pace)
        if isinstance(sent, Reset):
            raise ProbeFailed(f"{self.name} could not send: {sent.describe()}",
                              hint="the server reset the member's connection")


class Room:
    """The members of one probe; a context manager that closes them all."""

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self.strings = strings(ctx)
        self.members: list[Member] = []
        self.names: set[str] = set()
        #: Lines that may or may not come (a dropped slow member's leave notice): ignored.
        self.tolerated: set[str] = set()
        self._tag = ctx.rng.randbytes(3).hex()

    def __enter__(self) -> Room:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.disperse()
        for member in self.members:
            member.conn.close()

    def disperse(self) -> None:
        """End the probe's room cleanly, so the next probe starts in a quiet server.

        Reading members leave one at a time with an orderly close, the others
        (that stopped reading) with a reset; then the grader waits (up to the
        reply deadline) until the server holds no connection from this room.
        Without this, members of one probe would still be leaving while the
        next probe's join, and a server that changes its member table while
        broadcasting would fail a probe at random instead of the one made
        for that bug.
        """
        for member in self.present:
            if member.reading and member.end is None:
                self.leave(member)
            else:
                member.left = True
                member.conn.abort()
        program = self.ctx.program
        if program is None:
            return

        def connections() -> int:
            states = tcp_states(program.pids())
            return sum(states.get(state, 0) for state in ("SYN_RECV", "ESTABLISHED", "CLOSE_WAIT"))

        left = wait_for(lambda: True if connections() == 0 else None,
                        deadline=self.ctx.reply_deadline())
        if left is None:
            self.ctx.log(f"the server still holds {connections()} connection(s) after the room left")

    @property
    def present(self) -> list[Member]:
        """Members that joined and have not left."""
        return [m for m in self.members if not m.left]

    # -- joining and leaving ----------------------------------------------

    def connect(self, label: str, *, nodelay: bool = False, rcvbuf: int | None = None,
                reading: bool = True) -> Member:
        """Connect a new client and require the prompt; it has not sent its name yet."""
        name = f"{label}_{self._tag}"
        self.names.add(name)
        conn = self.ctx.connect(nodelay=nodelay, rcvbuf=rcvbuf)
        prompt = self.strings.prompt.encode()
        result = conn.read_exactly(len(prompt), deadline=self.ctx.reply_deadline())
        self.ctx.log(f"{name}: connected, got {excerpt(result.data)} ({result.end.describe()})")
        if result.data != prompt:
            raise ProbeFailed(
                "the server did not send the prompt when a client connected",
                hint=f"send the prompt {self.strings.prompt!r} (no newline) to every new "
                     "client, exactly as the handout writes it",
                evidence=Evidence(expected=excerpt(prompt), actual=excerpt(result.data),
                                  transport=result.end.describe()),
            )
        member = Member(self, name, conn, reading=reading)
        self.members.append(member)
        return member

    def join(self, label: str, *, first_lines: Iterable[str] = (), nodelay: bool = False,
             rcvbuf: int | None = None, reading: bool = True) -> Member:
        """Connect, send the username (and ``first_lines`` in the same write), and require the
        welcome for the joiner and the join notice (then those lines) for every other member."""
        others = [m for m in self.present if m.reading]
        member = self.connect(label, nodelay=nodelay, rcvbuf=rcvbuf)
        lines = list(first_lines)
        member.send(b"".join(encode_line(text) for text in [member.name, *lines]))
        self.ctx.log(f"{member.name}: sent the username" + (f" and {len(lines)} line(s)"
                                                              if lines else ""))
        notice = [self.strings.joined(member.name)]
        notice += [self.strings.said(member.name, text) for text in lines]
        self.expect({member: [self.strings.welcome], **{m: notice for m in others}},
                    what=f"{member.name} joined",
                    hint=f"after the username line, send the welcome {self.strings.welcome!r} to "
                         f"the new member and the join notice {self.strings.join!r} to the others")
        member.reading = reading  # a non-reading member stops reading after its welcome
        return member

    def tolerate(self, text: str) -> None:
        """From now on ignore the line ``text``, also where it arrived but was not judged yet."""
        self.tolerated.add(text)
        for member in self.members:
            kept = member.lines[member.cursor :]
            member.lines[member.cursor :] = [line for line in kept if line.raw != text]

    def dropped(self, member: Member) -> bool:
        """True (and ``member`` counted as gone, its leave notice tolerated) when the server
        closed ``member``'s connection: a server may drop a member that does not read."""
        if member.end is None:
            return False
        member.left = True
        self.tolerate(self.strings.left(member.name))
        self.ctx.log(f"{member.name}: dropped by the server ({member.end.describe()})")
        return True

    def leave(self, member: Member, *, reset: bool = False) -> None:
        """``member`` leaves: an orderly close (FIN), or a reset (RST) when ``reset``.

        The orderly close shuts down the sending side, then reads until the
        server closes its side (or the reply deadline), and only then closes:
        closing with unread bytes would send RST instead of FIN (RFC 1122
        section 4.2.2.13), which would make it a reset.
        """
        member.left = True
        if reset:
            member.conn.abort()
            self.ctx.log(f"{member.name}: reset its connection")
            return
        member.conn.shutdown_write()
        self.ctx.log(f"{member.name}: closed its side (FIN)")
        member.reading = True
        self.run([member], until=lambda: member.end is not None,
                 deadline=self.ctx.reply_deadline())
        member.conn.close()
        self.ctx.log(f"{member.name}: closed; the server "
                     + ("closed its side" if member.end is not None else "had not closed"))

    # -- talking and listening --------------------------------------------

    def say(self, member: Member, text: str, *, to: Iterable[Member] | None = None) -> None:
        """``member`` sends ``text``; every other present reading member (or ``to``) must get it."""
        member.send(encode_line(text))
        listeners = [m for m in (to if to is not None else self.present)
                     if m is not member and m.reading]
        self.expect({m: [self.strings.said(member.name, text)] for m in listeners},
                    what=f"{member.name} said a line",
                    hint="send each line to every other member as "
                         f"{self.strings.message!r}")

    def expect(self, wants: Mapping[Member, list[str]], *, what: str, hint: str,
               deadline: float | None = None) -> None:
        """Require each member's next judged lines to be exactly ``wants[member]``.

        Raises ProbeFailed naming the first member whose lines differ or did
        not all arrive before ``deadline`` (default: the reply deadline).
        """
        stop = self.ctx.reply_deadline() if deadline is None else deadline

        def enough() -> bool:
            return all(len(m.lines) - m.cursor >= len(w) or m.end is not None
                       for m, w in wants.items())

        self.run(wants, until=enough, deadline=stop)
        for member, want in wants.items():
            got = [line.raw for line in member.lines[member.cursor : member.cursor + len(want)]]
            member.cursor += len(got)
            if got == want:
                continue
            self.ctx.log(f"{member.name}: expected {want!r}, got {got!r}")
            index = next((i for i, (w, g) in enumerate(zip(want, got, strict=False)) if w != g),
                         len(got))
            if index < len(got):
                reason = (f"after {what}, {member.name} got {got[index]!r} where "
                          f"{want[index]!r} was expected")
            else:
                ended = f"; {member.end.describe()}" if member.end is not None else ""
                reason = (f"after {what}, {member.name} did not receive {want[index]!r} within "
                          f"{self.ctx.reply_timeout:g} s{ended}")
            raise ProbeFailed(reason, hint=hint, evidence=Evidence(
                expected=excerpt("\n".join(want).encode()),
                actual=excerpt("\n".join(got).encode()),
                details=(f"{member.name} also ignored: {member.ignored[:3]}",)
                if member.ignored else ()))

    def settle(self, seconds: float = 0.1) -> None:
        """Read every present member for a short window (to see lines that should not come)."""
        self.run(self.present, until=lambda: False, deadline=time.monotonic() + seconds)

    def run(self, readers: Iterable[Member], *, until: Callable[[], bool], deadline: float,
            writes: Mapping[Member, bytearray] | None = None, idle: float | None = None) -> bool:
        """Read ``readers`` (reading members only) and write ``writes`` at once, until
        ``until()`` holds (True), or ``deadline`` passes or nothing moved for ``idle``
        seconds (False).  Written bytes are deleted from the front of each ``writes``
        buffer as they go, so ``until`` can look at them and a later call continues
        where this one stopped.
        """
        pending = dict(writes or {})
        wanted = [m for m in readers if m.reading and m.end is None and not m.conn.closed]
        for member in wanted:
            member.poll()
        selector = selectors.DefaultSelector()
        try:
            for member in {*wanted, *(m for m, data in pending.items() if data)}:
                self._reregister(selector, member, wanted, pending)
            moved = time.monotonic()
            while not until():
                now = time.monotonic()
                stop = deadline if idle is None else min(deadline, moved + idle)
                if now >= stop or not selector.get_map():
                    return False
                for key, mask in selector.select(stop - now):
                    member = key.data
                    if mask & selectors.EVENT_WRITE and self._write(member, pending):
                        moved = time.monotonic()
                    if mask & selectors.EVENT_READ and member.poll():
                        moved = time.monotonic()
                    self._reregister(selector, member, wanted, pending)
            return True
        finally:
            selector.close()

    def _write(self, member: Member, pending: dict[Member, bytearray]) -> bool:
        buffer = pending[member]
        try:
            sent = member.conn.sock.send(memoryview(buffer)[:_WRITE_CHUNK])
        except BlockingIOError:
            return False
        except OSError as exc:
            reset_or_raise(exc)  # anything but a reset is the grader's fault: error
            self.ctx.log(f"{member.name}: write failed: {exc}")
            pending[member] = bytearray()
            return False
        del buffer[:sent]
        return sent > 0

    @staticmethod
    def _reregister(selector: selectors.BaseSelector, member: Member, wanted: list[Member],
                    pending: Mapping[Member, bytearray]) -> None:
        """Watch ``member`` for what it still needs: reading, writing, both or nothing."""
        reads = member in wanted and member.end is None
        writes = bool(pending.get(member)) and not member.conn.closed
        mask = (selectors.EVENT_READ if reads else 0) | (selectors.EVENT_WRITE if writes else 0)
        key = selector.get_map().get(member.conn.sock)
        if key is None:
            if mask:
                selector.register(member.conn.sock, mask, member)
        elif mask == 0:
            selector.unregister(member.conn.sock)
        elif key.events != mask:
            selector.modify(member.conn.sock, mask, member)
