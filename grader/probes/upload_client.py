"""Probes for file-transfer (upload) clients (family ``upload-client``; docs/labs.md §17).

Theory of operation: the grader plays the lab 10 upload server (docs/labs.md
§10).  Each probe writes the file to upload into a fresh grader-owned folder
(:meth:`~grader.context.ProbeContext.new_folder`; the assignment's command
passes its absolute path as ``{file}``), opens a listener, starts the client
and accepts it.  What arrives is parsed by the lab 10 codec
(:class:`grader.codecs.upload.UploadDecoder`, the server side) and compared
with the file: name, size and the content's SHA-256.  The probe then answers
like a lab 10 server: one reply line, then FIN (``shutdown(SHUT_WR)``), and it
reads until the client closes, which shows a FIN or an RST and any byte sent
after the upload.  Last, the client's exit status and output are judged.  A
client still running at the probe's deadline is killed and fails for hanging.

Only ``upload/base-name`` judges whether directories are sent: the other
probes accept a name whose last component is the file's name, so that a
client that sends the whole path fails that one probe, not every upload.
"""

from __future__ import annotations

import hashlib
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from grader.codecs import upload
from grader.codecs.base import ProtocolError
from grader.context import ClientRun, ProbeContext
from grader.events import Closed, Done, Event, Reset
from grader.launch.base import Program, threads_at_work
from grader.launch.quiet import blocked
from grader.net import Conn, refusing_port
from grader.probes.common import accept_client
from grader.probes.file_transfer import protocol
from grader.probes.giving_up import Hints, judge_gave_up
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeFailed, excerpt

SUITE = "upload-client"
BASIC = "upload/framing"
probe = REGISTRY.probe

#: Bytes of the start of an upload kept as evidence (the header and some content).
_HEAD = 512
#: Seconds a client may take to start and connect (a loaded machine starts Python slowly).
_CONNECT_WAIT = 5.0


@dataclass(frozen=True, kw_only=True)
class _File:
    """A file handed to the client: its absolute ``path`` (FILE), base ``name``, ``content``."""

    path: Path
    name: str
    content: bytes


@dataclass(frozen=True, kw_only=True)
class _Received:
    """What the client sent: the decoded ``upload`` (None if incomplete or malformed), the
    first bytes (``head``), the byte count, how reading ended, a codec ``error`` if any."""

    upload: upload.Upload | None
    head: bytes
    total: int
    end: Event
    error: str | None


def _make_file(ctx: ProbeContext, name: str, content: bytes, *, under: tuple[str, ...] = ()) -> _File:
    """Write ``content`` to ``<fresh folder>/<under...>/name``; the folder is removed afterwards."""
    where = ctx.new_folder().joinpath(*under)
    where.mkdir(parents=True, exist_ok=True)
    path = where / name
    path.write_bytes(content)
    ctx.log(f"file {path} ({len(content)} bytes, sha256 "
            f"{hashlib.sha256(content).hexdigest()[:16]}...)")
    return _File(path=path, name=name, content=content)


def _name(ctx: ProbeContext, stem: str, suffix: str) -> str:
    """A seeded file name: ``stem-xxxxxx.suffix``."""
    return f"{stem}-{ctx.rng.randrange(16**6):06x}{suffix}"


def _text(ctx: ProbeContext, lines: int) -> bytes:
    """``lines`` seeded lines of socket vocabulary, UTF-8."""
    words = ["socket", "bind", "connect", "sendall", "recv", "close", "port", "upload", "byte"]
    return b"".join(
        (" ".join(ctx.rng.choice(words) for _ in range(ctx.rng.randint(3, 12))) + "\n").encode()
        for _ in range(lines))


def _start(ctx: ProbeContext, file: Path, *, rcvbuf: int | None = None) -> tuple[Conn, Program]:
    """Listen, start the client with FILE = ``file`` and accept it.

    ``rcvbuf`` (bytes) is set on the listener, so the accepted socket has it
    from the handshake on (the window it offers).  Returns the connection and the
    program; raises ProbeFailed when the client never connects.
    """
    listener = ctx.listen()
    if rcvbuf is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    program = ctx.start_client(port=listener.getsockname()[1], values={"file": str(file)})
    conn = accept_client(ctx, listener, program, wait=max(ctx.reply_timeout, _CONNECT_WAIT),
                         hint="connect to the host and port given on the command line, then "
                              "send the upload")
    return conn, program


def _read_upload(ctx: ProbeContext, conn: Conn, *, wait: float | None = None,
                 cap: int = 65536, gap: float = 0.0) -> _Received:
    """Read one upload through the lab 10 decoder.

    Each read waits at most ``wait`` seconds (default: the reply timeout) for
    more bytes and takes at most ``cap`` bytes; ``gap`` seconds pass between
    reads (a slow server).  Stops at the whole upload, a malformed header or
    the end of the stream.
    """
    decoder = upload.UploadDecoder(protocol(ctx))
    head = bytearray()
    total = 0
    while True:
        chunk = conn.read_some(deadline=ctx.reply_deadline(wait), cap=cap)
        if chunk.data:
            total += len(chunk.data)
            if len(head) < _HEAD:
                head += chunk.data[: _HEAD - len(head)]
            decoder.feed(chunk.data)
            try:
                got = decoder.next_message()
            except ProtocolError as exc:
                return _Received(upload=None, head=bytes(head), total=total, end=chunk.end,
                                 error=str(exc))
            if got is not None:
                ctx.log(f"received an upload: name {got.name!r}, {len(got.content)} bytes")
                return _Received(upload=got, head=bytes(head), total=total, end=Done(), error=None)
        if not chunk.complete:
            ctx.log(f"upload incomplete after {total} bytes ({chunk.end.describe()})")
            return _Received(upload=None, head=bytes(head), total=total, end=chunk.end, error=None)
        if gap:
            time.sleep(gap)  # the slow server is the stimulus, not a wait for the client


def _field_problem(proto: upload.Protocol, raw: bytes, file: _File) -> tuple[str, str] | None:
    """The header field the client got wrong, as (reason, hint), from the raw bytes it sent."""
    width = proto.name_length_bytes
    wanted = file.name.encode("utf-8")
    at = raw.find(wanted, width)
    if len(raw) < width or at < 0:
        return None
    sent_name = raw[width : at + len(wanted)]  # any directories the client put before it
    claimed = int.from_bytes(raw[:width], "big")
    if claimed != len(sent_name):
        if claimed == len(sent_name.decode("utf-8", "replace")):
            return ("the name length field counts characters, not the name's UTF-8 bytes "
                    f"({claimed} instead of {len(sent_name)})",
                    "send len(name.encode('utf-8')), the number of bytes actually sent")
        if int.from_bytes(raw[:width], "little") == len(sent_name):
            return ("the name length field is little-endian",
                    f"pack it big-endian: struct.pack('>I', n) ({width} bytes)")
        return (f"the name length field says {claimed} but the name sent has {len(sent_name)} bytes",
                f"send the name's length in bytes as {width} bytes, big-endian")
    start = at + len(wanted)
    size = len(file.content)
    field = raw[start : start + proto.size_bytes]
    if len(field) == proto.size_bytes and int.from_bytes(field, "big") == size:
        return None
    if raw[start : start + 4] == size.to_bytes(4, "big") and proto.size_bytes != 4:
        return (f"the size field is 4 bytes, not {proto.size_bytes}",
                f"send the size as {proto.size_bytes} bytes, big-endian: struct.pack('>Q', size)")
    if len(field) == proto.size_bytes and int.from_bytes(field, "little") == size:
        return ("the size field is little-endian",
                "pack it big-endian: struct.pack('>Q', size) (or size.to_bytes(8, 'big'))")
    if len(field) == proto.size_bytes:
        return (f"the size field says {int.from_bytes(field, 'big')} bytes but the file has {size}",
                "send the file's size in bytes (os.path.getsize or len of the bytes read)")
    return None


def _judge_upload(ctx: ProbeContext, got: _Received, file: _File, *, what: str,
                  strict_name: bool = False) -> None:
    """Require ``got`` to be exactly ``file`` in the lab 10 framing; ProbeFailed otherwise.

    With ``strict_name`` false, a name that ends in ``/`` + the base name passes.
    """
    proto = protocol(ctx)
    expected = proto.upload(file.name, file.content)
    shown = Evidence(expected=excerpt(expected[:_HEAD]), actual=excerpt(got.head),
                     transport=got.end.describe())
    if got.upload is None:
        problem = _field_problem(proto, got.head, file)
        if problem is not None:
            raise ProbeFailed(f"{what}: {problem[0]}", hint=problem[1], evidence=shown)
        if got.error is not None:
            raise ProbeFailed(f"{what}: the header is malformed: {got.error}",
                              hint="send a 4-byte big-endian name length, the UTF-8 name, an "
                                   "8-byte big-endian size, then the content", evidence=shown)
        if got.total == 0:
            raise ProbeFailed(f"{what}: the client sent nothing ({got.end.describe()})",
                              hint="send the header and the content, then read the reply",
                              evidence=shown)
        raise ProbeFailed(
            f"{what}: the upload stopped after {got.total} of {len(expected)} bytes "
            f"({got.end.describe()})",
            hint="send every byte: sendall() (send() may send only part of the buffer), and "
                 "read the whole file (one read() of part of it is not the file)",
            evidence=shown)
    sent = got.upload
    if sent.name != file.name and (strict_name or not sent.name.endswith("/" + file.name)):
        raise ProbeFailed(f"{what}: the name sent is {sent.name!r}, not {file.name!r}",
                          hint="send only the file's base name: os.path.basename(path)",
                          evidence=Evidence(expected=repr(file.name), actual=repr(sent.name)))
    if sent.content != file.content:
        want = hashlib.sha256(file.content).hexdigest()
        have = hashlib.sha256(sent.content).hexdigest()
        raise ProbeFailed(
            f"{what}: the content differs from the file ({len(sent.content)} bytes, "
            f"expected {len(file.content)})",
            hint="send the file's raw bytes (open it in binary mode, 'rb'), all of them, and a "
                 "size field that counts them",
            evidence=Evidence(expected=f"{len(file.content)} bytes, SHA-256 {want}",
                              actual=f"{len(sent.content)} bytes, SHA-256 {have}"))
    ctx.log(f"{what}: framing, name and SHA-256 as expected")


@dataclass(frozen=True, kw_only=True)
class _After:
    """After the reply: the bytes the client still sent, how it ended its side, how it exited."""

    data: bytes
    end: Event
    run: ClientRun


def _reply_and_finish(ctx: ProbeContext, conn: Conn, program: Program, reply: bytes, *,
                      cut: int | None = None, gap: float = 0.0,
                      succeeded: bool = False) -> _After:
    """Send ``reply``, then FIN, then read until the client closes; then wait for the client
    to exit.

    With ``cut``, the reply goes in two segments: ``reply[:cut]``, then at least
    ``gap`` seconds and until the client is blocked again (it has taken the
    first segment, whatever the machine's load; bounded by the reply
    deadline), then the rest.  Bytes the client sends after the upload fail
    the probe (the framing has no room for them), and so does a hang; with
    ``succeeded``, so does any exit but status 0 without a traceback.
    """
    if cut is None:
        sent = conn.send_all(reply, deadline=ctx.reply_deadline())
    else:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # threads at work before the first segment: only these may be busy loops of the
        # client's own; one that works on the segment (however long) is waited for
        loops = threads_at_work(program.pids())
        sent = conn.send_all(reply[:cut], deadline=ctx.reply_deadline())
        time.sleep(gap)  # the pause between the segments is the stimulus
        settled = blocked(program, deadline=ctx.reply_deadline(), loops=loops)
        state = "at rest (blocked, or a busy loop that had the CPU)" if settled else "still running"
        ctx.log(f"sent {reply[:cut]!r}; client {state}")
        if isinstance(sent, Done):
            sent = conn.send_all(reply[cut:], deadline=ctx.reply_deadline())
    ctx.log(f"replied {reply!r} ({sent.describe()}), then FIN")
    conn.shutdown_write()
    rest = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=65536)
    ctx.log(f"after the reply: {len(rest.data)} bytes, {rest.end.describe()}")
    conn.close()
    run = ctx.finish_client(program, timeout=max(0.1, ctx.deadline - time.monotonic()), starved_grace=True)
    if rest.data:
        raise ProbeFailed(f"the client sent {len(rest.data)} bytes after the upload",
                          hint="send exactly the header and the file's bytes: no newline or "
                               "anything else after them",
                          evidence=Evidence(actual=excerpt(rest.data)))
    if run.status is None:
        raise ProbeFailed("the client did not exit after the reply (killed at the deadline)",
                          hint="read the reply line, print it, close the socket and exit",
                          evidence=Evidence(actual=excerpt(run.stderr)))
    if succeeded and (run.status != 0 or b"Traceback" in run.stderr):
        raise ProbeFailed(f"the upload succeeded (OK), but the client exited with status "
                          f"{run.status}" + (" after a traceback" if b"Traceback" in run.stderr
                                             else ""),
                          hint="after OK, print it and exit 0",
                          evidence=Evidence(expected="exit status 0", actual=str(run.status),
                                            details=("stderr:\n" + run.stderr.decode(
                                                "utf-8", "replace")[-800:],)))
    return _After(data=rest.data, end=rest.end, run=run)


def _upload(ctx: ProbeContext, file: _File, *, what: str, strict_name: bool = False) -> _After:
    """One whole session: the client uploads ``file``, the grader checks it, replies OK, and
    the client must exit 0."""
    conn, program = _start(ctx, file.path)
    _judge_upload(ctx, _read_upload(ctx, conn), file, what=what, strict_name=strict_name)
    return _reply_and_finish(ctx, conn, program, protocol(ctx).ok, succeeded=True)


def _output(run: ClientRun) -> str:
    return (run.stdout + b"\n" + run.stderr).decode("utf-8", "replace")


#: What an upload client that did not give up cleanly is told.
_GIVE_UP = Hints(hung="recv() returning b'' means the server closed: stop reading, report it, "
                      "exit non-zero",
                 exit_zero="exit non-zero (sys.exit(1)) when the upload did not succeed",
                 traceback="catch the error (OSError) and print one clear line to stderr")


def _expect_clean_error(ctx: ProbeContext, run: ClientRun, situation: str) -> None:
    """Non-zero exit, exactly one line on stderr, no traceback, no hang."""
    ctx.log(f"status {run.status}; stderr {run.stderr.decode('utf-8', 'replace').strip()[:200]!r}")
    judge_gave_up(run, situation, _GIVE_UP)


# -- uploads -------------------------------------------------------------------


@probe(SUITE, BASIC, weight=2, timeout=15.0, params=(
        Param("lines", 40, "count", "lines of text in the file"),))
def framing(ctx: ProbeContext) -> None:
    """The bytes on the wire follow the framing exactly: name length, UTF-8 name, size, content.

    A text file of {lines} lines is uploaded: a 4-byte big-endian length of the
    name's UTF-8 bytes, the name, an 8-byte big-endian size, then the content,
    checked by SHA-256, and nothing after it; after the OK reply the client
    exits with status 0.  Source: docs/labs.md §17 ("in the file-transfer framing").
    """
    file = _make_file(ctx, _name(ctx, "notes", ".txt"), _text(ctx, ctx.param_int("lines")))
    _upload(ctx, file, what="text file")


@probe(SUITE, "upload/base-name", depends=(BASIC,), timeout=15.0)
def base_name(ctx: ProbeContext) -> None:
    """Only the file's base name is sent when FILE has directories (``sub/dir/x.bin``).

    FILE is ``<folder>/sub/dir/<name>.bin``; the name field must be ``<name>.bin``
    alone.  Source: docs/labs.md §17 ("sending only the file's base name").
    """
    file = _make_file(ctx, _name(ctx, "x", ".bin"), ctx.rng.randbytes(300), under=("sub", "dir"))
    _upload(ctx, file, what="FILE in sub/dir", strict_name=True)


@probe(SUITE, "upload/empty-file", depends=(BASIC,), timeout=15.0)
def empty_file(ctx: ProbeContext) -> None:
    """An empty file is uploaded as a header with size 0 and no content.

    Source: docs/labs.md §17 ("name length, name, size, content").
    """
    file = _make_file(ctx, _name(ctx, "empty", ".txt"), b"")
    _upload(ctx, file, what="empty file")


@probe(SUITE, "upload/non-ascii-name", depends=(BASIC,), timeout=15.0)
def non_ascii_name(ctx: ProbeContext) -> None:
    """A non-ASCII file name is sent as UTF-8, its length field counting bytes, not characters.

    Source: docs/labs.md §17 ("in the file-transfer framing"), §10 ("the file name, UTF-8 encoded").
    """
    name = f"caf\u00e9 \u65e5\u672c\u8a9e-{ctx.rng.randrange(16**4):04x}.txt"
    file = _make_file(ctx, name, "d\u00e9j\u00e0 vu\n".encode() * 10)
    _upload(ctx, file, what="non-ASCII name")


@probe(SUITE, "upload/large-file", depends=(BASIC,), timeout=60.0, params=(
        Param("bytes", 20 * 1024 * 1024, "bytes", "size of the binary file"),
        Param("rcvbuf", 16384, "bytes", "receive buffer of the grader's accepted socket"),
        Param("read_bytes", 16384, "bytes", "most bytes the grader takes per read"),
        Param("read_gap", 0.0002, "seconds", "pause between the grader's reads"),
        Param("idle", 5.0, "seconds", "longest wait for more bytes of the upload")))
def large_file(ctx: ProbeContext) -> None:
    """A {bytes} binary file reaches a slow server intact (same size and SHA-256).

    The grader reads at most {read_bytes} per read with {read_gap} between reads,
    through a {rcvbuf} receive buffer, so the client's send buffer fills: a
    send() without sendall(), or one read() of the file that is then partly
    sent, loses bytes.  Source: docs/labs.md §17 ("send
    instead of sendall"), §10 ("any bytes of any size").
    """
    file = _make_file(ctx, _name(ctx, "random", ".bin"), ctx.rng.randbytes(ctx.param_int("bytes")))
    conn, program = _start(ctx, file.path, rcvbuf=ctx.param_int("rcvbuf"))
    started = time.monotonic()
    got = _read_upload(ctx, conn, wait=ctx.param_float("idle"), cap=ctx.param_int("read_bytes"),
                       gap=ctx.param_float("read_gap"))
    ctx.log(f"read {got.total} bytes in {time.monotonic() - started:.1f} s")
    _judge_upload(ctx, got, file, what="large binary file")
    _reply_and_finish(ctx, conn, program, protocol(ctx).ok, succeeded=True)


# -- replies -------------------------------------------------------------------


@probe(SUITE, "reply/ok", depends=(BASIC,), timeout=15.0, params=(
        Param("gap", 0.05, "seconds", "least pause between the two segments of the reply"),))
def reply_ok(ctx: ProbeContext) -> None:
    """On ``OK`` the client prints the reply line and exits with status 0.

    The reply arrives in two segments (``O``, then ``K`` and the newline), the
    second at least {gap} later and only once the client has taken the first
    and blocked again: one recv() is not one line.  Source: docs/labs.md §17 ("Print the
    server's reply"; "Exit with status 0 on `OK`").
    """
    file = _make_file(ctx, _name(ctx, "report", ".txt"), _text(ctx, 5))
    conn, program = _start(ctx, file.path)
    _judge_upload(ctx, _read_upload(ctx, conn), file, what="upload")
    reply = protocol(ctx).ok
    after = _reply_and_finish(ctx, conn, program, reply, cut=1, gap=ctx.param_float("gap"))
    line = reply.decode("utf-8", "replace").strip()
    if not any(line in printed for printed in after.run.stdout.decode("utf-8", "replace")
               .splitlines()):
        raise ProbeFailed("the client did not print the OK reply line",
                          hint="read until the newline (recv() in a loop), then print the line",
                          evidence=Evidence(expected=repr(line), actual=excerpt(after.run.stdout)))
    if after.run.status != 0:
        raise ProbeFailed(f"after OK the client exited with status {after.run.status}",
                          hint="exit 0 when the reply is OK",
                          evidence=Evidence(expected="0", actual=str(after.run.status), details=(
                              "stderr:\n" + after.run.stderr.decode("utf-8", "replace")[-800:],)))


_REASONS = ("file exists", "disk full", "name refused", "upload too large")


@probe(SUITE, "reply/err", depends=(BASIC,), timeout=15.0, params=(
        Param("gap", 0.05, "seconds", "least pause between the two segments of the reply"),))
def reply_err(ctx: ProbeContext) -> None:
    """On ``ERR reason`` the client prints the reply line and exits with a non-zero status.

    The reply arrives in two segments split inside the reason, the second at
    least {gap} later and once the client has blocked again; the line may go to
    stdout or stderr, with no traceback.  Source: docs/labs.md
    §17 ("non-zero on `ERR`").
    """
    file = _make_file(ctx, _name(ctx, "draft", ".txt"), _text(ctx, 5))
    conn, program = _start(ctx, file.path)
    _judge_upload(ctx, _read_upload(ctx, conn), file, what="upload")
    reply = protocol(ctx).error_line(ctx.rng.choice(_REASONS))
    cut = ctx.rng.randint(len(reply) - 6, len(reply) - 2)
    after = _reply_and_finish(ctx, conn, program, reply, cut=cut, gap=ctx.param_float("gap"))
    line = reply.decode("utf-8", "replace").strip()
    if line not in _output(after.run):
        raise ProbeFailed("the client did not print the whole ERR reply line",
                          hint="read until the newline (recv() in a loop), then print the line",
                          evidence=Evidence(expected=repr(line), actual=excerpt(
                              after.run.stdout + after.run.stderr)))
    if "Traceback" in after.run.stderr.decode("utf-8", "replace"):
        raise ProbeFailed("after ERR the client printed a traceback",
                          hint="report the refusal with one line and sys.exit(1), not an exception",
                          evidence=Evidence(actual=excerpt(after.run.stderr)))
    if after.run.status == 0:
        raise ProbeFailed("after ERR the client exited with status 0",
                          hint="exit non-zero (sys.exit(1)) when the reply is ERR",
                          evidence=Evidence(expected="a non-zero exit status", actual="0"))


# -- errors --------------------------------------------------------------------


@probe(SUITE, "errors/closed-early", timeout=15.0)
def closed_early(ctx: ProbeContext) -> None:
    """A server that reads the upload and closes without replying: one stderr line, non-zero exit.

    No traceback and no hang (a loop that ignores recv() == b'' spins forever).
    Source: docs/labs.md §17 ("the server closes before replying").
    """
    file = _make_file(ctx, _name(ctx, "notes", ".txt"), _text(ctx, 5))
    conn, program = _start(ctx, file.path)
    got = _read_upload(ctx, conn)
    conn.close()
    ctx.log(f"read {got.total} bytes, closed without replying")
    run = ctx.finish_client(program, timeout=5.0, starved_grace=True)
    _expect_clean_error(ctx, run, "server closed without replying")


@probe(SUITE, "errors/refused", timeout=10.0)
def refused(ctx: ProbeContext) -> None:
    """With nothing listening, the client exits non-zero with one line on stderr: no traceback, no hang.

    Source: docs/labs.md §17 ("If the connection is refused").
    """
    file = _make_file(ctx, _name(ctx, "notes", ".txt"), _text(ctx, 3))
    with refusing_port(ctx.launcher.listen_host) as port:
        program = ctx.start_client(port=port, values={"file": str(file.path)})
        run = ctx.finish_client(program, timeout=5.0, starved_grace=True)
    _expect_clean_error(ctx, run, "connection refused")


@probe(SUITE, "errors/missing-file", timeout=10.0, params=(
        Param("wait", 0.3, "seconds", "how long a connection is awaited after the client exits"),))
def missing_file(ctx: ProbeContext) -> None:
    """A FILE that does not exist: one line on stderr, non-zero exit, nothing sent.

    Connecting is allowed, sending any byte is not; a connection is looked for
    up to {wait} after the client has exited.  Source: docs/labs.md §17 ("the
    local FILE is missing").
    """
    path = ctx.new_folder() / _name(ctx, "missing", ".bin")
    listener = ctx.listen()
    program = ctx.start_client(port=listener.getsockname()[1], values={"file": str(path)})
    run = ctx.finish_client(program, timeout=5.0, starved_grace=True)
    conn = ctx.accept(listener, deadline=ctx.reply_deadline(ctx.param_float("wait")))
    if conn is not None:
        sent = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=65536)
        ctx.log(f"the client connected and sent {len(sent.data)} bytes ({sent.end.describe()})")
        if sent.data:
            raise ProbeFailed(f"with FILE missing the client still sent {len(sent.data)} bytes",
                              hint="open the file before sending anything (better: before "
                                   "connecting); if it cannot be opened, send nothing",
                              evidence=Evidence(actual=excerpt(sent.data)))
    _expect_clean_error(ctx, run, "missing FILE")


# -- shutdown ------------------------------------------------------------------


@probe(SUITE, "shutdown/clean-close", depends=(BASIC,), timeout=15.0)
def clean_close(ctx: ProbeContext) -> None:
    """After the reply and the server's FIN, the client closes with FIN, not RST.

    Source: docs/labs.md §17 ("closes with FIN").
    """
    file = _make_file(ctx, _name(ctx, "notes", ".txt"), _text(ctx, 5))
    after = _upload(ctx, file, what="upload")
    if isinstance(after.end, Reset):
        raise ProbeFailed(
            "the client reset the connection (RST) instead of closing it (FIN)",
            hint="read the whole reply before closing (closing with unread data sends RST), "
                 "and do not set SO_LINGER to 0",
            evidence=Evidence(expected="FIN", actual="RST", transport=after.end.describe()))
    if not isinstance(after.end, Closed):
        raise ProbeFailed("the client did not close the connection after the reply",
                          hint="close the socket once the reply line is read",
                          evidence=Evidence(transport=after.end.describe()))
