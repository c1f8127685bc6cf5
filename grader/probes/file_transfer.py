"""Probes for the file-transfer (upload) server (suite ``file-transfer``; docs/labs.md §10).

Theory of operation: the grader is the client and also the owner of the
server's storage folder.  The assignment starts the server with the
``{scratch}`` placeholder as its folder argument, so every server instance
gets a fresh folder ``<temp>/store`` (``ctx.scratch``) whose parent holds
nothing else.  Uploads are encoded by :mod:`grader.codecs.upload` with the
assignment's ``[protocol]`` strings; after each reply the probe looks at the
file system itself: the stored file's size and SHA-256, and for refused
names, that no path appeared anywhere in the grader's temporary tree — in
particular not beside ``store``, where ``../x`` would land.  Absolute names
point into that same tree, never at a system path such as ``/etc``, so a
server that accepts them cannot damage the machine.

Waiting on the file system polls the real condition (the file's size and
hash) until the reply deadline, so a server that replies a moment before
its write reaches the disk is not failed by a race.  The robustness and
resource probes are the shared ones of :mod:`grader.probes.generic`, driven
by one small upload per session.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from grader.codecs import upload
from grader.codecs.base import ProtocolError
from grader.context import ProbeContext
from grader.events import Closed, Done, Event, Reset, Timeout
from grader.net import Conn, ReadResult
from grader.probes import generic
from grader.probes.common import binary, file_digest, printable, register_startup, wait_for
from grader.probes.queues import Pacer
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt

SUITE = "file-transfer"
SOURCE = "docs/labs.md §10"
TEXT = "upload/text-file"

register_startup(SUITE)
probe = REGISTRY.probe


# -- helpers ------------------------------------------------------------------


def protocol(ctx: ProbeContext) -> upload.Protocol:
    """The assignment's upload protocol (defaults: docs/labs.md §10); ProbeError if invalid."""
    table = ctx.protocol
    try:
        return upload.Protocol(
            name_length_bytes=int(table.get("name_length_bytes", 4)),
            size_bytes=int(table.get("size_bytes", 8)),
            ok=str(table.get("ok", "OK\n")).encode(),
            error=str(table.get("error", "ERR")).encode(),
            eol=str(table.get("eol", "\n")).encode(),
        )
    except (TypeError, ValueError) as exc:
        raise ProbeError(f"assignment [protocol] table is invalid: {exc}") from None


def folder(ctx: ProbeContext) -> Path:
    """The server instance's storage folder; ProbeError when the command does not pass one."""
    if ctx.scratch is None:
        raise ProbeError("the assignment's command must pass {scratch} as the storage folder")
    return ctx.scratch


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (files, folders, links), relative, '/'-separated; no symlinks followed."""
    found: set[str] = set()
    for top, dirs, files in os.walk(root):
        rel = Path(top).relative_to(root)
        for entry in (*dirs, *files):
            found.add((rel / entry).as_posix())
    return found


def unique(ctx: ProbeContext, stem: str, suffix: str = ".txt") -> str:
    """A file name unique to this probe run (probes of one lane share a folder)."""
    return f"{ctx.config.name.replace('/', '-')}-{stem}{suffix}"


def send_upload(ctx: ProbeContext, conn: Conn, name: str | bytes, content: bytes, *,
                header_chunks: list[int] | None = None, gap: float = 0.0,
                pace: Pacer | None = None, wait: float | None = None) -> Event:
    """Send one upload; the header split by ``header_chunks`` (``gap`` s between writes and,
    with ``pace``, each piece only once the server has read the one before)."""
    proto = protocol(ctx)
    header = proto.header(name, len(content))
    deadline = ctx.reply_deadline(wait)
    if header_chunks is not None:
        sent = conn.send_all(header, deadline=deadline, chunks=header_chunks, gap=gap, pace=pace)
        if not isinstance(sent, Done):
            return sent
        return conn.send_all(content, deadline=deadline)
    return conn.send_all(header + content, deadline=deadline)


def read_reply(ctx: ProbeContext, conn: Conn, *,
               wait: float | None = None) -> tuple[upload.Reply | None, ReadResult]:
    """Read one reply line; ``(None, read)`` when none arrived or it is neither OK nor ERR."""
    proto = protocol(ctx)
    result = conn.read_until(proto.eol, deadline=ctx.reply_deadline(wait), cap=upload.MAX_REPLY)
    if not result.complete:
        return None, result
    decoder = upload.ReplyDecoder(proto)
    decoder.feed(result.data)
    try:
        return decoder.next_message(), result
    except ProtocolError:
        return None, result


def _no_reply(ctx: ProbeContext, what: str, result: ReadResult, sent: Event) -> ProbeFailed:
    proto = protocol(ctx)
    end = result.end
    if result.complete:
        hint = (f"the reply must be {proto.ok!r} or {proto.error!r} + ' reason', one line "
                f"ending in {proto.eol!r}")
        reason = f"{what}: the reply {result.data[:60]!r} is neither OK nor ERR"
    elif result.data:
        hint = f"end the reply line with {proto.eol!r}"
        reason = f"{what}: the reply line never ended ({end.describe()})"
    elif isinstance(end, Closed | Reset):
        hint = ("the server closed the connection without replying: did its handler crash? "
                "(see the stderr tail)")
        reason = f"{what}: no reply, the connection was closed"
    else:
        hint = ("no reply: read the 4-byte name length, the name, the 8-byte size, then exactly "
                "that many bytes (recv() may return fewer bytes than asked: loop), then reply")
        reason = f"{what}: no reply before the deadline"
    return ProbeFailed(reason, hint=hint, evidence=Evidence(
        expected=repr(proto.ok), actual=excerpt(result.data),
        transport=f"send: {sent.describe()}; read: {end.describe()}"))


def check_stored(ctx: ProbeContext, name: str, content: bytes, *, what: str) -> None:
    """Require ``folder/name`` to hold exactly ``content`` (size and SHA-256) before the deadline."""
    path = folder(ctx) / name
    want = (len(content), hashlib.sha256(content).hexdigest())
    got = wait_for(lambda: True if file_digest(path) == want else None, deadline=ctx.reply_deadline())
    if got:
        ctx.log(f"{name!r} stored: {want[0]} bytes, sha256 {want[1][:16]}...")
        return
    found = file_digest(path)
    listing = sorted(tree(folder(ctx)))
    shown = ", ".join(repr(p) for p in listing[:12]) + (" ..." if len(listing) > 12 else "")
    if found is None:
        raise ProbeFailed(
            f"{what}: the server replied OK but there is no file {name!r} in its folder",
            hint="store the file under exactly the name received (decoded as UTF-8), in the "
                 "folder given on the command line, and create it even when it is empty",
            evidence=Evidence(expected=f"a file {name!r}", actual=f"folder holds: {shown or 'nothing'}"),
        )
    size, digest = found
    details: tuple[str, ...] = ()
    if size == len(content):
        data = path.read_bytes()
        offset = next((i for i, (a, b) in enumerate(zip(data, content, strict=False)) if a != b),
                      None)
        details = () if offset is None else (f"first difference at byte offset {offset}",)
    raise ProbeFailed(
        f"{what}: the stored file differs from the upload ({size} bytes, expected {len(content)})",
        hint="write the raw bytes in binary mode ('wb'); never decode the content as text; "
             "keep reading until all SIZE bytes are in",
        evidence=Evidence(expected=f"{len(content)} bytes, SHA-256 {want[1]}",
                          actual=f"{size} bytes, SHA-256 {digest}", details=details),
    )


def upload_ok(ctx: ProbeContext, conn: Conn, name: str, content: bytes, *, what: str,
              header_chunks: list[int] | None = None, gap: float = 0.0,
              pace: Pacer | None = None, wait: float | None = None) -> None:
    """Upload on ``conn``, require the OK reply, then require the file stored intact."""
    sent = send_upload(ctx, conn, name, content, header_chunks=header_chunks, gap=gap, pace=pace,
                       wait=wait)
    reply, result = read_reply(ctx, conn, wait=wait)
    paced = "" if pace is None else f", the header's pieces {pace.describe()}"
    ctx.log(f"{what}: {name!r}, {len(content)} bytes ({sent.describe()}{paced}); "
            f"reply {result.data!r}")
    if reply is None:
        raise _no_reply(ctx, what, result, sent)
    if not reply.ok:
        raise ProbeFailed(f"{what}: the server refused {name!r}: {reply.reason or '(no reason)'}",
                          hint="a plain file name inside the folder must be accepted",
                          evidence=Evidence(expected=repr(protocol(ctx).ok),
                                            actual=repr(result.data)))
    check_stored(ctx, name, content, what=what)


def _text(ctx: ProbeContext, lines: int) -> bytes:
    words = ["socket", "bind", "listen", "accept", "recv", "sendall", "close", "port", "byte"]
    return b"".join(
        (" ".join(ctx.rng.choice(words) for _ in range(ctx.rng.randint(3, 12))) + "\n").encode()
        for _ in range(lines))


# -- uploads -------------------------------------------------------------------


@probe(SUITE, TEXT, weight=2, depends=("startup/listens",))
def text_file(ctx: ProbeContext) -> None:
    """A small text file is stored under its name with exactly its bytes, and the reply is OK.

    Source: docs/labs.md §10.
    """
    with ctx.connect() as conn:
        upload_ok(ctx, conn, "notes.txt", _text(ctx, 40), what="text file")


@probe(SUITE, "upload/binary-20mib", depends=(TEXT,), timeout=60.0,
       params=(Param("bytes", 20 * 1024 * 1024, "bytes", "size of the file"),))
def binary_file(ctx: ProbeContext) -> None:
    """A {bytes} binary file is stored intact: same size and SHA-256 on disk.

    Source: docs/labs.md §10 (any content; recv() returns what has arrived, not SIZE bytes).
    """
    size = ctx.param_int("bytes")
    with ctx.connect() as conn:
        upload_ok(ctx, conn, "random.bin", binary(ctx.rng, size), what="binary file",
                  wait=max(ctx.reply_timeout, 30.0))


@probe(SUITE, "upload/empty-file", depends=(TEXT,))
def empty_file(ctx: ProbeContext) -> None:
    """An empty file (size 0) is stored as an empty file, and the reply is OK. Source: docs/labs.md §10."""
    with ctx.connect() as conn:
        upload_ok(ctx, conn, "empty.txt", b"", what="empty file")


@probe(SUITE, "upload/non-ascii-name", depends=(TEXT,))
def non_ascii_name(ctx: ProbeContext) -> None:
    """A file name with non-ASCII characters is stored under exactly that (UTF-8) name.

    Source: docs/labs.md §10 ("the file name, UTF-8 encoded").
    """
    name = "caf\u00e9 \u65e5\u672c\u8a9e \u00fcber-\u00f1.txt"
    with ctx.connect() as conn:
        try:
            upload_ok(ctx, conn, name, "d\u00e9j\u00e0 vu\n".encode() * 10, what="non-ASCII name")
        except ProbeFailed as exc:
            raise ProbeFailed(exc.reason, hint="decode the name bytes as UTF-8 "
                              "(name_bytes.decode('utf-8')), not ASCII or Latin-1",
                              evidence=exc.evidence) from None


# -- names that must be refused ---------------------------------------------


def _refused(ctx: ProbeContext, name: str, label: str) -> None:
    """Upload under ``name``; require ERR and no path created anywhere in the temporary tree."""
    root = folder(ctx).parent
    before = tree(root)
    content = f"must not be stored ({label})\n".encode()
    with ctx.connect() as conn:
        sent = send_upload(ctx, conn, name, content)
        reply, result = read_reply(ctx, conn)
        rest = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=4096)  # the server is done
        ctx.log(f"{label} {name!r}: reply {result.data!r}; then {rest.end.describe()}")
    created = sorted(tree(root) - before)
    outside = [p for p in created if p != "store" and not p.startswith("store/")]
    if outside:
        raise ProbeFailed(
            f"{label} {name!r}: the server wrote outside its folder",
            hint="refuse names that are absolute, contain a separator or '..': accept only a "
                 "plain name (name == os.path.basename(name) and name not in ('', '.', '..'))",
            evidence=Evidence(expected="nothing outside the folder",
                              actual="created beside the folder: " + ", ".join(outside)),
        )
    if reply is None or reply.ok:
        raise ProbeFailed(
            f"{label} {name!r} was not refused with {protocol(ctx).error.decode()!r}",
            hint="answer ERR <reason> for a name that is absolute, contains a separator or '..'",
            evidence=Evidence(expected=f"{protocol(ctx).error.decode()} <reason>",
                              actual=excerpt(result.data),
                              transport=f"send: {sent.describe()}; read: {result.end.describe()}"),
        )
    if created:
        raise ProbeFailed(
            f"{label} {name!r}: refused, but the server created {', '.join(created)}",
            hint="check the name before creating anything",
            evidence=Evidence(expected="no new path", actual=", ".join(created)),
        )


@probe(SUITE, "security/traversal", depends=(TEXT,), timeout=30.0)
def traversal(ctx: ProbeContext) -> None:
    """Names that leave the folder ('../x', 'a/../../x', '..', an absolute path) get ERR, and nothing
    is written outside the folder.

    The probe checks the file system around the folder.  The absolute name
    points into the grader's own temporary tree (like '/etc/x', but
    harmless).  Source: docs/labs.md §10 ("Names that leave the folder are
    refused"; "Nothing is written outside the folder, ever").
    """
    absolute = str(folder(ctx).parent / unique(ctx, "absolute"))
    for name, label in (("../" + unique(ctx, "dotdot"), "a '../' name"),
                        ("a/../../" + unique(ctx, "nested"), "an 'a/../../' name"),
                        ("..", "the name '..'"),
                        (absolute, "an absolute name")):
        _refused(ctx, name, label)


@probe(SUITE, "security/separators", depends=(TEXT,), timeout=30.0)
def separators(ctx: ProbeContext) -> None:
    """Names with a path separator ('sub/x', './x') get ERR even when they stay inside the folder.

    Source: docs/labs.md §10 ("Names that leave the folder are refused: ..,
    absolute paths and path separators").
    """
    for name, label in (("./" + unique(ctx, "dot"), "a './' name"),
                        ("sub/" + unique(ctx, "inner"), "a 'sub/' name")):
        _refused(ctx, name, label)


# -- partial and concurrent uploads -----------------------------------------


@probe(SUITE, "robustness/cut-short", depends=(TEXT,))
def cut_short(ctx: ProbeContext) -> None:
    """An upload cut short (the client closes after part of the content) leaves no file under its
    name, and the server closes the connection.

    A partial file under the final name looks complete to anyone listing
    the folder: receive into a temporary name and rename when whole.
    Source: docs/labs.md §10 ("An upload cut short must not leave a file that looks complete").
    """
    name = unique(ctx, "partial", ".bin")
    proto = protocol(ctx)
    content = printable(ctx.rng, 64 * 1024)
    part = proto.header(name, len(content)) + content[: 20 * 1024]
    with ctx.connect() as conn:
        conn.send_all(part, deadline=ctx.reply_deadline())
        conn.shutdown_write()
        ctx.log(f"sent the header and 20 KiB of {len(content)} bytes, then SHUT_WR")
        end = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=4096).end
        ctx.log(f"server side: {end.describe()}")
    path = folder(ctx) / name
    gone = wait_for(lambda: True if not os.path.lexists(path) else None,
                    deadline=ctx.reply_deadline())
    if not gone:
        size = path.stat().st_size if path.exists() else 0
        raise ProbeFailed(
            f"after an upload cut short, a file {name!r} of {size} bytes is left in the folder",
            hint="receive into a temporary file and rename it to the final name only when all "
                 "SIZE bytes arrived (os.replace); delete the temporary file otherwise",
            evidence=Evidence(expected=f"no file {name!r}",
                              actual=f"{size} of {len(content)} bytes under the final name"),
        )
    if isinstance(end, Timeout):
        raise ProbeFailed(
            "after an upload cut short, the server never closed the connection",
            hint="recv() returning b'' means the client is gone: stop, discard and close "
                 "(a loop that ignores b'' spins forever)",
            evidence=Evidence(expected="EOF (FIN) or RST", actual="the connection stayed open",
                              transport=end.describe()),
        )


@probe(SUITE, "concurrency/three-uploads", depends=(TEXT,), timeout=30.0)
def three_uploads(ctx: ProbeContext) -> None:
    """Three uploads at once: the third completes and is answered while the first two are still
    in progress, and all three are stored intact.

    Source: docs/labs.md §10 (three uploads at once); a teacher whose course
    does not require concurrency marks this probe informational.
    """
    proto = protocol(ctx)
    files = [(unique(ctx, str(i), ".bin"), printable(ctx.rng, 48 * 1024)) for i in range(3)]
    conns = [ctx.connect() for _ in files]
    for index, (conn, (name, content)) in enumerate(zip(conns, files, strict=True)):
        sent = conn.send_all(proto.header(name, len(content)) + content[: len(content) // 2],
                             deadline=ctx.reply_deadline())
        if not isinstance(sent, Done):
            raise ProbeFailed(f"upload {index + 1} of 3 stalled before its first half was sent",
                              hint="serve each upload in its own thread (or with selectors)",
                              evidence=Evidence(transport=sent.describe()))
    ctx.log("three uploads half sent; finishing them in reverse order")
    for index in (2, 1, 0):
        conn, (name, content) = conns[index], files[index]
        sent = conn.send_all(content[len(content) // 2 :], deadline=ctx.reply_deadline())
        reply, result = read_reply(ctx, conn)
        ctx.log(f"upload {index + 1}: reply {result.data!r} ({result.end.describe()})")
        if reply is None and isinstance(result.end, Timeout) and not result.data and index:
            raise ProbeFailed(
                f"upload {index + 1} of 3 got no reply while upload 1 was still in progress",
                hint="one upload at a time: serve each client in its own thread "
                     "(threading.Thread per accepted connection) or with selectors",
                evidence=Evidence(expected="OK for the finished upload",
                                  actual="no reply", transport=result.end.describe()),
            )
        if reply is None:
            raise _no_reply(ctx, f"upload {index + 1} of 3", result, sent)
        if not reply.ok:
            raise ProbeFailed(f"upload {index + 1} of 3 was refused: {reply.reason}",
                              hint="concurrent uploads of different files must all succeed",
                              evidence=Evidence(actual=repr(result.data)))
        check_stored(ctx, name, content, what=f"upload {index + 1} of 3")
        conn.close()


@probe(SUITE, "partial/split-header", depends=(TEXT,))
def split_header(ctx: ProbeContext) -> None:
    """An upload whose header arrives one byte per segment (TCP_NODELAY, each once the server
    has read the one before) is stored intact.

    recv(4) may return fewer than 4 bytes.  Source: docs/labs.md §10 ("The
    header's fields are bytes on a stream, not separate messages").
    """
    name = unique(ctx, "split")
    proto = protocol(ctx)
    header_length = proto.name_length_bytes + len(name.encode()) + proto.size_bytes
    with ctx.connect(nodelay=True) as conn:
        try:
            upload_ok(ctx, conn, name, _text(ctx, 20), what="split header",
                      header_chunks=[1] * header_length, gap=0.002, pace=Pacer(ctx, conn))
        except ProbeFailed as exc:
            raise ProbeFailed(exc.reason, hint="recv(n) returns at most n bytes, maybe fewer: "
                              "loop until each header field is complete (a recv_exactly helper)",
                              evidence=exc.evidence) from None


# -- shared robustness and resource probes -------------------------------------


def _session(ctx: ProbeContext, conn: Conn, index: int) -> None:
    upload_ok(ctx, conn, unique(ctx, str(index)), f"upload number {index}\n".encode() * 8,
              what=f"upload {index + 1}")


def _opening(ctx: ProbeContext, conn: Conn) -> None:
    proto = protocol(ctx)
    conn.send_all(proto.header(unique(ctx, "reset", ".bin"), 4096) + bytes(1000),
                  deadline=ctx.reply_deadline())


def _request(ctx: ProbeContext, index: int) -> bytes:
    content = f"upload number {index}\n".encode() * 8
    return protocol(ctx).header(unique(ctx, f"reset-{index}"), len(content)) + content


generic.register(generic.ServerLab(suite=SUITE, source=SOURCE, session=_session, opening=_opening,
                                   depends=(TEXT,), sequential_count=200, request=_request),
                 which=(*generic.ALL, generic.RESET_BEFORE_REPLY))
