"""Probes for line-based chat servers (suite ``chat``; docs/labs.md §7).

Theory of operation: the grader plays every member of the room
(:mod:`grader.probes.chat_peer`).  The protocol's strings (prompt, welcome,
join, message and leave) come from the assignment's ``[protocol]`` table,
so a course with its own handout edits its TOML, not this code.  Each probe
builds its own room with fresh member names and judges, for every member,
the exact lines it receives; lines about members of earlier probes (a late
leave notice) are ignored.  Probes that need no echo of a member's own
lines do not look at them; ``message/not-to-sender`` and ``join/notice``
do.

The two probes about a member that stops reading each run on a lane of
their own (their own server instance), because they push megabytes into
the room: a server that blocks on the silent member's full socket is
exposed only once that member's socket buffers and the server's send buffer
are full (about 4 MiB on Linux, whose send buffer grows to
``net.ipv4.tcp_wmem``'s maximum), so the grader writes 8 MiB by default.
"""

from __future__ import annotations

from grader.codecs.lines import encode_line
from grader.context import ProbeContext
from grader.events import Closed
from grader.probes.chat_peer import Member, Room
from grader.probes.common import register_startup
from grader.probes.generic import IDLE_PARAMS, measure_idle_cpu
from grader.probes.queues import Pacer
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeFailed

SUITE = "chat"
SOURCE = "docs/labs.md §7"
BASE = "join/welcome"
probe = REGISTRY.probe

#: Default volume the non-reader probes write, in bytes.
VOLUME = 8 * 1024 * 1024
#: The parameters of the probes that write a volume of lines (:func:`_volume_lines`).
_VOLUME_PARAMS = (Param("bytes", VOLUME, "bytes", "volume of lines written"),
                  Param("line_bytes", 1000, "bytes", "length of one line"))

register_startup(SUITE)


def _text(ctx: ProbeContext, words: int = 4) -> str:
    vocabulary = ("halo", "apa", "kabar", "baik", "terima", "kasih", "selamat", "pagi", "kopi",
                  "socket", "server", "chat", "line", "42", "ok", "sampai", "jumpa", "ya")
    return " ".join(ctx.rng.choice(vocabulary) for _ in range(words))


@probe(SUITE, BASE, weight=2, depends=("startup/listens",))
def welcome(ctx: ProbeContext) -> None:
    """On connect the server sends the prompt; after the username line the joiner gets the welcome.

    The prompt (no newline) and the welcome line are the assignment's
    strings. Source: docs/labs.md §7.
    """
    with Room(ctx) as room:
        room.join("ana")


@probe(SUITE, "join/notice", depends=(BASE,))
def join_notice(ctx: ProbeContext) -> None:
    """Every other member gets the join notice of a new member; the joiner does not get its own.

    Source: docs/labs.md §7 ("every other
    member receives <name> telah bergabung ke chat").
    """
    with Room(ctx) as room:
        ana = room.join("ana")
        budi = room.join("budi")
        citra = room.join("citra")
        room.say(ana, _text(ctx))
        room.settle()
        for member in (budi, citra):
            if own := [line for line in member.own if room.strings.parse(line).kind == "join"]:
                raise ProbeFailed(
                    f"{member.name} received its own join notice",
                    hint="send the join notice to the other members only; the joiner gets the "
                         "welcome",
                    evidence=Evidence(expected=room.strings.welcome, actual="; ".join(own)),
                )


@probe(SUITE, "message/broadcast", depends=(BASE,))
def broadcast(ctx: ProbeContext) -> None:
    """A line from a member reaches every other member as "<name>: <line>", from each member in turn.

    Source: docs/labs.md §7 ("Every later line L a member sends reaches every
    other member as <name>: L").
    """
    with Room(ctx) as room:
        members = [room.join(label) for label in ("ana", "budi", "citra")]
        for member in members:
            room.say(member, _text(ctx, 5))


@probe(SUITE, "message/not-to-sender", depends=(BASE,))
def not_to_sender(ctx: ProbeContext) -> None:
    """A member's line is not sent back to that member.

    Each of three members says a line the others receive; a short window
    afterwards must bring no echo. Source: docs/labs.md §7 ("never sent back to the
    sender").
    """
    with Room(ctx) as room:
        members = [room.join(label) for label in ("ana", "budi", "citra")]
        for member in members:
            room.say(member, _text(ctx))
        room.settle(0.2)
        for member in members:
            if echoes := [line for line in member.own
                          if room.strings.parse(line).kind == "message"]:
                raise ProbeFailed(
                    f"{member.name} received its own line back",
                    hint="broadcast to every member except the sender",
                    evidence=Evidence(expected="nothing", actual="; ".join(echoes)),
                )


@probe(SUITE, "partial/split-line", depends=(BASE,))
def split_line(ctx: ProbeContext) -> None:
    """A line written one byte at a time (TCP_NODELAY, each byte once the server has read the
    one before) reaches the others whole.

    One recv() is not one line: buffer until \\n. Source: docs/labs.md §7
    ("a line split across segments is broadcast in pieces").
    """
    with Room(ctx) as room:
        ana = room.join("ana", nodelay=True)
        budi = room.join("budi")
        text = "split " + _text(ctx, 5)
        data = encode_line(text)
        pacer = Pacer(ctx, ana.conn)
        ana.send(data, chunks=[1] * len(data), gap=0.002, pace=pacer)
        ctx.log(f"{ana.name}: wrote {len(data)} one-byte segments, {pacer.describe()}")
        room.expect({budi: [room.strings.said(ana.name, text)]}, what=f"{ana.name}'s split line",
                    hint="a recv() may return part of a line: keep the bytes in a buffer per "
                         "member and handle each complete line (up to \\n)")
        room.say(budi, _text(ctx))


@probe(SUITE, "partial/coalesced", depends=(BASE,))
def coalesced(ctx: ProbeContext) -> None:
    """Several lines in one segment are handled as several lines, in order.

    Both a username line followed by a first line, and three lines at once.
    Source: docs/labs.md §7 ("several lines
    arriving together are broadcast as one").
    """
    hint = ("one recv() may hold several lines: split the buffer on \\n and handle every "
            "complete line, in order")
    with Room(ctx) as room:
        ana = room.join("ana")
        budi = room.join("budi")
        try:
            citra = room.join("citra", first_lines=["first " + _text(ctx)])
        except ProbeFailed as exc:
            raise ProbeFailed(f"username and first line in one segment: {exc.reason}", hint=hint,
                              evidence=exc.evidence) from None
        lines = [f"line {i} " + _text(ctx) for i in range(3)]
        ana.send(b"".join(encode_line(line) for line in lines))
        ctx.log(f"{ana.name}: wrote 3 lines in one segment")
        said = [room.strings.said(ana.name, line) for line in lines]
        room.expect({budi: said, citra: said}, what=f"{ana.name} wrote three lines at once",
                    hint=hint)


def _chunks(ctx: ProbeContext, size: int, pieces: int) -> list[int]:
    cuts = sorted(ctx.rng.sample(range(1, size), min(pieces - 1, size - 1)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, size], strict=True)]


@probe(SUITE, "message/order-20", depends=(BASE,), timeout=60.0,
       params=(Param("members", 20, "count", "members talking at once"),
               Param("lines", 10, "count", "lines each member writes")))
def order_20(ctx: ProbeContext) -> None:
    """With {members} members talking at once, every line reaches all the others, in each sender's order.

    Each member writes {lines} lines, split at random points into 3 writes, all
    members at the same time. Source: docs/labs.md §7 ("Lines from one sender
    reach each member in the order they were sent").
    """
    count = ctx.param_int("members")
    per = ctx.param_int("lines")
    with Room(ctx) as room:
        members = [room.join(f"m{index:02d}") for index in range(count)]
        texts = {m: [f"{m.name} {i:02d} " + _text(ctx, 3) for i in range(per)] for m in members}
        blobs = {m: b"".join(encode_line(t) for t in texts[m]) for m in members}
        splits = {m: _chunks(ctx, len(data), 3) for m, data in blobs.items()}
        ctx.log(f"{count} members write {per} lines each, at once, in 3 writes each")
        # three rounds of writes: each member's stream is cut in three, all members per round
        offsets = dict.fromkeys(members, 0)
        for round_ in range(3):
            part: dict[Member, bytearray] = {}
            for m in members:
                size = splits[m][round_] if round_ < len(splits[m]) else 0
                part[m] = bytearray(blobs[m][offsets[m] : offsets[m] + size])
                offsets[m] += size
            room.run(members, writes=part, until=lambda: not any(part.values()),  # noqa: B023
                     deadline=ctx.reply_deadline(), idle=ctx.reply_timeout)
        need = per * (count - 1)

        def done() -> bool:
            return all(sum(1 for line in m.lines[m.cursor :] if line.kind == "message") >= need
                       or m.end is not None for m in members)

        room.run(members, until=done, deadline=ctx.reply_deadline(max(ctx.reply_timeout, 10.0)),
                 idle=ctx.reply_timeout)
        for member in members:
            got = member.lines[member.cursor :]
            stray = [line.raw for line in got if line.kind != "message"]
            for sender in members:
                if sender is member:
                    continue
                heard = member.messages_from(sender.name)
                if heard == texts[sender]:
                    continue
                if sorted(heard) == sorted(texts[sender]):
                    why, hint = "in another order", (
                        "keep each member's outgoing lines in a first-in, first-out queue "
                        "(append and pop(0) / popleft(), not pop())")
                else:
                    why, hint = f"{len(heard)} of {per} intact", (
                        "deliver every line whole: buffer per member until \\n; never let "
                        "several senders write into one member's socket at the same time")
                raise ProbeFailed(
                    f"{member.name} got {sender.name}'s {per} lines {why}",
                    hint=hint,
                    evidence=Evidence(expected=" | ".join(texts[sender]),
                                      actual=" | ".join(heard) or "nothing",
                                      details=(f"other lines received: {stray[:5]}",)
                                      if stray else ()),
                )
            if stray:
                raise ProbeFailed(f"{member.name} received unexpected lines: {stray[:3]}",
                                  hint="send only the protocol's lines")


def _volume_lines(ctx: ProbeContext) -> list[str]:
    volume = ctx.param_int("bytes")
    width = ctx.param_int("line_bytes")
    count = max(1, volume // (width + 1))
    return [f"{i:07d} " + ctx.rng.randbytes((width - 8) // 2).hex() for i in range(count)]


def _heard_all(member: Member, sender: Member, lines: list[str]) -> bool:
    return len(member.messages_from(sender.name)) >= len(lines) or member.end is not None


def _judge_volume(member: Member, sender: Member, lines: list[str], *, context: str) -> None:
    heard = member.messages_from(sender.name)
    if heard == lines:
        return
    intact = 0
    for got, want in zip(heard, lines, strict=False):
        if got != want:
            break
        intact += 1
    ended = f" ({member.end.describe()})" if member.end is not None else ""
    if heard == lines[: len(heard)]:
        hint = ("a member that does not read must not stop the others: keep an output queue "
                "per member and send with non-blocking sockets (selectors) or a writer thread "
                "per member, never a blocking sendall() from the broadcasting loop")
    elif sorted(heard) == sorted(lines):
        hint = ("the lines came in another order: keep each member's outgoing lines in a "
                "first-in, first-out queue (append and pop(0) / popleft(), not pop())")
    else:
        hint = ("lines were damaged: buffer each member's input until \\n, and let one "
                "writer at a time send to a member's socket")
    raise ProbeFailed(
        f"{context}: {member.name} received {intact} of {sender.name}'s {len(lines)} lines "
        f"intact{ended}",
        hint=hint,
        evidence=Evidence(expected=f"{len(lines)} lines from {sender.name}, in order",
                          actual=f"{len(heard)} received, the first {intact} intact"),
    )


@probe(SUITE, "robustness/non-reader", depends=(BASE,), timeout=60.0, lane="non-reader",
       params=_VOLUME_PARAMS)
def non_reader(ctx: ProbeContext) -> None:
    """A member that never reads does not freeze the room: {bytes} of lines still reach the others.

    The server may keep queueing for the silent member or drop it, but the
    other members must keep receiving. Source: docs/labs.md §7 ("a blocking
    send to one stalled member freezes the room").
    """
    lines = _volume_lines(ctx)
    with Room(ctx) as room:
        ana = room.join("ana")
        sepi = room.join("sepi", rcvbuf=4096, reading=False)
        budi = room.join("budi")
        room.tolerate(room.strings.left(sepi.name))  # the server may drop sepi
        writes = {ana: bytearray(b"".join(encode_line(line) for line in lines))}
        ctx.log(f"{ana.name} writes {len(writes[ana])} bytes in {len(lines)} lines; "
                "sepi never reads")
        room.run([ana, budi], writes=writes, until=lambda: _heard_all(budi, ana, lines),
                 deadline=ctx.deadline - 1.0, idle=ctx.reply_timeout)
        _judge_volume(budi, ana, lines, context="while a member did not read")


@probe(SUITE, "robustness/leave-during-broadcast", depends=(BASE,), timeout=60.0,
       lane="leave-broadcast",
       params=(*_VOLUME_PARAMS,
               Param("stall", 1.0, "seconds", "how long the room may stand still before dodi leaves")))
def leave_during_broadcast(ctx: ProbeContext) -> None:
    """A member leaving while a broadcast is held up (a slow reader) breaks neither server nor room.

    Members ana, sepi (slow: reads nothing at first), dodi and budi join;
    ana writes {bytes} of lines; when the room stops moving (or all arrived)
    dodi leaves; then sepi reads everything.  Every line of ana's and dodi's
    leave notice must reach budi and sepi (unless the server dropped the
    slow sepi), and the room must still work.
    Source: docs/labs.md §7 ("Broadcasting while the client table is being changed").
    """
    lines = _volume_lines(ctx)
    with Room(ctx) as room:
        ana = room.join("ana")
        sepi = room.join("sepi", rcvbuf=4096, reading=False)
        dodi = room.join("dodi")
        budi = room.join("budi")
        writes = {ana: bytearray(b"".join(encode_line(line) for line in lines))}
        room.run([ana, budi, dodi], writes=writes, until=lambda: _heard_all(budi, ana, lines),
                 deadline=ctx.deadline - 10.0, idle=ctx.param_float("stall"))
        ctx.log(f"{ana.name} has {len(writes[ana])} bytes left to write; "
                f"{budi.name} has {len(budi.messages_from(ana.name))} lines; {dodi.name} leaves")
        room.leave(dodi)
        sepi.reading = True
        notice = room.strings.left(dodi.name)

        def done() -> bool:
            return all((_heard_all(m, ana, lines) and any(line.raw == notice for line in m.lines))
                       or m.end is not None for m in (budi, sepi))

        room.run([ana, budi, sepi], writes=writes, until=done, deadline=ctx.deadline - 5.0,
                 idle=ctx.reply_timeout)
        for member in (budi, sepi):
            if member is sepi and room.dropped(sepi):
                continue  # the server may drop a member that does not read
            _judge_volume(member, ana, lines, context=f"after {dodi.name} left mid-broadcast")
            if not any(line.raw == notice for line in member.lines):
                raise ProbeFailed(f"{member.name} never got {dodi.name}'s leave notice",
                                  hint=f"send {room.strings.leave!r} when a member leaves")
            member.cursor = len(member.lines)
        room.expect({ana: [notice]}, what=f"{dodi.name} left",
                    hint=f"send {room.strings.leave!r} to the others when a member leaves")
        for member in room.present:
            room.say(member, "after the leave " + _text(ctx))


@probe(SUITE, "leave/notice", depends=(BASE,))
def leave_notice(ctx: ProbeContext) -> None:
    """When a member closes its connection the others get its leave notice, and the room goes on.

    Source: docs/labs.md §7 ("When a member leaves, by closing or by a reset,
    every remaining member receives <name> telah meninggalkan chat").
    """
    with Room(ctx) as room:
        ana = room.join("ana")
        budi = room.join("budi")
        citra = room.join("citra")
        room.leave(citra)
        room.expect({ana: [room.strings.left(citra.name)], budi: [room.strings.left(citra.name)]},
                    what=f"{citra.name} closed its connection",
                    hint="when recv() returns b'' remove the member, close its socket and send "
                         f"{room.strings.leave!r} to the others")
        room.say(ana, _text(ctx))


@probe(SUITE, "robustness/member-reset", depends=(BASE,))
def member_reset(ctx: ProbeContext) -> None:
    """A member that resets its connection (RST) mid-line leaves like any other; the server goes on.

    The others get its leave notice, a new member can join, and lines flow.
    Source: docs/labs.md §7 ("When a member leaves, by closing or by a reset";
    "Crash on reset").
    """
    with Room(ctx) as room:
        ana = room.join("ana")
        budi = room.join("budi")
        citra = room.join("citra")
        budi.send(b"half a line without its end")
        room.leave(budi, reset=True)
        room.expect({ana: [room.strings.left(budi.name)], citra: [room.strings.left(budi.name)]},
                    what=f"{budi.name} reset its connection",
                    hint="catch ConnectionResetError (an OSError) around recv() and send(): treat "
                         "it as the member leaving (remove it, close it, send the leave notice)")
        room.join("dodi")
        room.say(ana, _text(ctx))


@probe(SUITE, "resources/idle-cpu", depends=(BASE,), lane="idle", params=IDLE_PARAMS)
def idle_cpu(ctx: ProbeContext) -> None:
    """No busy loop: at most {max_cpu} CPU over {seconds} of idleness with two members connected and silent.

    Source: docs/labs.md §7; docs/labs.md §3 ("busy loop while idle").
    """
    with Room(ctx) as room:
        ana = room.join("ana")
        room.join("budi")
        measure_idle_cpu(ctx, "with two silent members")
        room.say(ana, _text(ctx))
        if any(isinstance(m.end, Closed) for m in room.members):
            raise ProbeFailed("the server closed an idle member's connection",
                              hint="do not time out members")
