"""Probes for the HTTP/1.1 static file server (family ``http``; docs/labs.md §11).

Theory of operation: the grader is the HTTP client and the owner of the
server's folder.  The assignment starts the server with ``{root}``, a fresh
grader-owned folder per server instance (``ctx.scratch``, ``<temp>/store``)
whose parent holds nothing else; each probe writes the files it asks for
into it (names unique to the probe, since the probes of a lane share the
folder), and the traversal probes put a secret file beside it, in the
parent, where ``/../secret`` would lead.  Requests are written by h11 (or by
hand, when malformed on purpose) and every response is read by h11 in the
client role (:mod:`grader.probes.http_client`): a response h11 rejects is a
failure that quotes h11's reason, and the probes judge only what h11 hands
back (status, headers, body).  Media types are expected from Python's own
``mimetypes`` table (the built-in one, not the machine's files), for
extensions on which every table agrees.  The robustness and resource probes
are the shared ones of :mod:`grader.probes.generic`, one GET per session.
"""

from __future__ import annotations

import hashlib
import mimetypes
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from grader.context import ProbeContext
from grader.events import Closed, Done, Reset, Timeout
from grader.net import Conn
from grader.probes import generic, queues
from grader.probes.common import binary, printable, register_startup
from grader.probes.http_client import Exchange, Rejected, Response
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeError, ProbeFailed, Tier, excerpt

SUITE = "http"
SOURCE = "docs/labs.md §11"
TEXT = "get/text-file"
LARGE = "large/slow-reader"

register_startup(SUITE)
probe = REGISTRY.probe

#: Extensions whose media type every mimetypes table agrees on (RFC 9110 §8.3).
TYPED = (".txt", ".html", ".css", ".json", ".png", ".jpg", ".pdf")
_TABLE = mimetypes.MimeTypes()  # the built-in table only: the machine's files may differ

_FRAMING_HINT = ("a response is the status line 'HTTP/1.1 200 OK\\r\\n', one 'Name: value\\r\\n' "
                 "line per header, an empty line '\\r\\n', then exactly Content-Length bytes")


# -- files ----------------------------------------------------------------------


def root(ctx: ProbeContext) -> Path:
    """The server instance's folder; ProbeError when the command does not pass ``{root}``."""
    if ctx.scratch is None:
        raise ProbeError("the assignment's command must pass {root} as the folder to serve")
    return ctx.scratch


def put(ctx: ProbeContext, name: str, content: bytes) -> str:
    """Write ``content`` to ``root/name`` (folders made, readable by the server); the URL path.

    The path is ``name`` percent-encoded (RFC 3986 §2.1), with a leading '/'.
    """
    path = root(ctx) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.stat().st_size != len(content) or path.read_bytes() != content:
        path.write_bytes(content)
        path.chmod(0o644)
    return "/" + quote(name)


def unique(ctx: ProbeContext, stem: str) -> str:
    """A file name unique to this probe (the probes of one lane share the folder)."""
    return f"{ctx.config.name.replace('/', '-')}-{stem}"


def text(ctx: ProbeContext, lines: int) -> bytes:
    """Seeded text: ``lines`` lines of words."""
    words = ["socket", "bind", "listen", "accept", "recv", "sendall", "close", "header", "byte"]
    return b"".join(
        (" ".join(ctx.rng.choice(words) for _ in range(ctx.rng.randint(3, 12))) + "\n").encode()
        for _ in range(lines))


def expected_type(name: str) -> str:
    """The media type the built-in mimetypes table gives ``name`` (application/octet-stream if none)."""
    kind, _ = _TABLE.guess_type(name)
    return kind or "application/octet-stream"


# -- talking --------------------------------------------------------------------


def rejected(what: str, result: Rejected, sent: bytes) -> ProbeFailed:
    """The failure for a response that did not arrive whole (see :class:`Rejected`)."""
    shown = excerpt(result.received) if result.received else "nothing"
    evidence = Evidence(sent=excerpt(sent), actual=shown, transport=result.end.describe())
    if result.by_h11:
        return ProbeFailed(f"{what}: h11 rejected the response: {result.reason}",
                           hint=_FRAMING_HINT, evidence=evidence)
    if result.status is not None:
        if isinstance(result.end, Timeout):
            hint = ("the body stopped short: send all of it with sendall() (send() may send "
                    "only part) and exactly Content-Length bytes; without a Content-Length "
                    "the body ends only when the server closes")
        else:
            hint = ("send the whole body (sendall() in a loop over the file), and a "
                    "Content-Length equal to the file's size")
        return ProbeFailed(f"{what}: status {result.status}, but {result.reason}",
                           hint=hint, evidence=evidence)
    if isinstance(result.end, Closed | Reset) and not result.received:
        return ProbeFailed(f"{what}: the server closed the connection without a response",
                           hint="did the handler crash? (see the stderr tail) Answer every "
                                "request, errors included, before closing",
                           evidence=evidence)
    if result.received:
        return ProbeFailed(f"{what}: the response head never ended: {result.reason}",
                           hint="end the headers with an empty line ('\\r\\n\\r\\n' after the "
                                "status line and headers)", evidence=evidence)
    return ProbeFailed(f"{what}: no response: {result.reason}",
                       hint="read until the empty line ('\\r\\n\\r\\n') that ends the request: "
                            "recv() may return part of it, or several requests at once",
                       evidence=evidence)


def fetch(ctx: ProbeContext, exchange: Exchange, method: str, target: str, *,
          headers: Sequence[tuple[str, str]] = (), what: str,
          wait: float | None = None, stall: float | None = None) -> Response:
    """Send a request h11 writes and read the whole response within ``wait`` seconds (default:
    the reply timeout), a body ending early when no byte came for ``stall`` seconds (see
    :meth:`Exchange.response`); ProbeFailed (:func:`rejected`) when none arrives whole."""
    request = exchange.request(method, target, headers)
    deadline = ctx.reply_deadline(wait)
    sent = exchange.conn.send_all(request, deadline=deadline)
    result = exchange.response(deadline=deadline, stall=stall)
    ctx.log(f"{what}: {method} {target} ({sent.describe()}) -> "
            + (f"{result.status} {result.reason}, {result.size} body bytes"
               if isinstance(result, Response) else f"rejected: {result.reason}"))
    if isinstance(result, Rejected):
        raise rejected(what, result, request)
    return result


def raw(ctx: ProbeContext, exchange: Exchange, request: bytes, *, method: str = "GET",
        what: str) -> Response | Rejected:
    """Send hand-made ``request`` bytes (h11 told it stands for ``method``); the response."""
    exchange.sent_raw(method)
    deadline = ctx.reply_deadline()
    exchange.conn.send_all(request, deadline=deadline)
    result = exchange.response(deadline=deadline)
    ctx.log(f"{what}: sent {request!r} -> "
            + (f"{result.status} {result.reason}" if isinstance(result, Response)
               else f"rejected: {result.reason}"))
    return result


def expect_file(what: str, response: Response, content: bytes, target: str) -> None:
    """Require 200 and exactly ``content`` as the body."""
    if response.status != 200:
        raise ProbeFailed(
            f"{what}: GET {target} answered {response.status} {response.reason}, expected 200",
            hint="map the path to a file under the folder given on the command line "
                 "(percent-decoded, without the query string) and send it with 200",
            evidence=Evidence(expected="200", actual=response.head_text()))
    if (response.size == len(content) and response.body == content[: len(response.body)]
            and (response.size <= len(response.body) or _same_digest(response, content))):
        return
    offset = next((i for i, (a, b) in enumerate(zip(response.body, content, strict=False))
                   if a != b), min(len(response.body), len(content)))
    raise ProbeFailed(
        f"{what}: the body of GET {target} is not the file ({response.size} bytes, "
        f"expected {len(content)})",
        hint="open the file in binary mode ('rb') and send every byte (sendall); never decode "
             "it as text",
        evidence=Evidence(expected=f"{len(content)} bytes: {excerpt(content)}",
                          actual=f"{response.size} bytes: {excerpt(response.body)}",
                          first_difference=offset))


def _same_digest(response: Response, content: bytes) -> bool:
    return response.sha256 == hashlib.sha256(content).hexdigest()


def get_file(ctx: ProbeContext, conn: Conn, name: str, content: bytes, *, what: str,
             headers: Sequence[tuple[str, str]] = ()) -> Response:
    """Put ``name`` in the folder, GET it on ``conn`` and require it back whole (200)."""
    target = put(ctx, name, content)
    response = fetch(ctx, Exchange(conn), "GET", target, headers=headers, what=what)
    expect_file(what, response, content, target)
    return response


# -- GET and HEAD ---------------------------------------------------------------


@probe(SUITE, TEXT, weight=2, depends=("startup/listens",))
def text_file(ctx: ProbeContext) -> None:
    """GET of a text file answers 200 with exactly the file's bytes as the body.

    Source: docs/labs.md §11 ("exactly the file's bytes").
    """
    with ctx.connect() as conn:
        get_file(ctx, conn, unique(ctx, "notes.txt"), text(ctx, 40), what="text file")


@probe(SUITE, "get/binary-file", depends=(TEXT,), timeout=20.0,
       params=(Param("bytes", 256 * 1024, "bytes", "size of the file"),))
def binary_file(ctx: ProbeContext) -> None:
    """GET of a {bytes} binary file (every byte value) answers 200 with exactly its bytes.

    Source: docs/labs.md §11 ("exactly the file's bytes").
    """
    content = binary(ctx.rng, ctx.param_int("bytes"))
    with ctx.connect() as conn:
        try:
            get_file(ctx, conn, unique(ctx, "image.png"), content, what="binary file")
        except ProbeFailed as exc:
            raise ProbeFailed(exc.reason, hint="open the file in binary mode ('rb') and send the "
                              "bytes as they are: reading it as text fails (UnicodeDecodeError) "
                              "or changes it", evidence=exc.evidence) from None


@probe(SUITE, "headers/content-length", depends=(TEXT,))
def content_length(ctx: ProbeContext) -> None:
    """Every 200 response carries Content-Length, equal to the file's size in bytes (text, binary,
    empty file).

    Source: docs/labs.md §11 ("Content-Length"); RFC 9110 §8.6.
    """
    for name, content in ((unique(ctx, "a.txt"), text(ctx, 12)),
                          (unique(ctx, "b.png"), printable(ctx.rng, 70_000)),
                          (unique(ctx, "empty.txt"), b"")):
        with ctx.connect() as conn:
            response = get_file(ctx, conn, name, content, what=f"GET {name}")
        length = response.header("content-length")
        if length != str(len(content)):
            raise ProbeFailed(
                f"GET {name}: Content-Length is {length!r}, expected '{len(content)}'",
                hint="send 'Content-Length: N' with N the file's size in bytes "
                     "(os.path.getsize, or len() of the bytes read in binary mode)",
                evidence=Evidence(expected=f"Content-Length: {len(content)}",
                                  actual=response.head_text()))


@probe(SUITE, "headers/content-type", depends=(TEXT,))
def content_type(ctx: ProbeContext) -> None:
    """Every 200 response carries the Content-Type that the standard mimetypes table gives its
    extension (.txt, .html, .css, .json, .png, .jpg, .pdf); parameters such as charset are free.

    Source: docs/labs.md §11 ("Content-Type"; "mimetypes").
    """
    wrong: list[str] = []
    for extension in TYPED:
        name = unique(ctx, "file" + extension)
        with ctx.connect() as conn:
            response = get_file(ctx, conn, name, printable(ctx.rng, 300), what=f"GET {name}")
        want = expected_type(name)
        if response.media_type() != want:
            wrong.append(f"{extension}: {response.header('content-type')!r}, expected {want!r}")
    if wrong:
        raise ProbeFailed(
            f"wrong Content-Type for {len(wrong)} of {len(TYPED)} extensions",
            hint="take the type from the standard table: mimetypes.guess_type(path)[0], "
                 "or 'application/octet-stream' when it returns None",
            evidence=Evidence(expected="the mimetypes table's type", actual="; ".join(wrong)))


@probe(SUITE, "get/head", depends=(TEXT,))
def head(ctx: ProbeContext) -> None:
    """HEAD answers with the same status, Content-Length and Content-Type as GET, and no body.

    h11 reads the HEAD response as bodyless; bytes the server sends after its
    headers (on the same connection, before the next response or the
    close) are a body it should not have sent.  Source: docs/labs.md §11
    ("HEAD sends the same headers without the body"); RFC 9110 §9.3.2.
    """
    content = text(ctx, 30)
    target = put(ctx, unique(ctx, "page.html"), content)
    with ctx.connect() as conn:
        got = fetch(ctx, Exchange(conn), "GET", target, what="GET")
    with ctx.connect() as conn:
        exchange = Exchange(conn)
        headed = fetch(ctx, exchange, "HEAD", target, what="HEAD")
        extra = exchange.leftover
        if not extra and exchange.reusable():
            request = exchange.request("GET", target)
            conn.send_all(request, deadline=ctx.reply_deadline())
            result = exchange.response(deadline=ctx.reply_deadline())
            ctx.log(f"GET after HEAD: {result.status} ({type(result).__name__})")
            if isinstance(result, Rejected) and not result.received.startswith(b"HTTP/"):
                extra = result.received
        elif not extra:
            extra = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=len(content) + 4096).data
    if extra:
        raise ProbeFailed(
            f"HEAD {target}: {len(extra)} bytes followed the headers (a body)",
            hint="answer HEAD exactly like GET, but stop after the empty line that ends the "
                 "headers: never send the body",
            evidence=Evidence(expected="no body", actual=excerpt(extra)))
    differences = [f"{name}: GET {got.header(name)!r}, HEAD {headed.header(name)!r}"
                   for name in ("content-length", "content-type")
                   if got.header(name) != headed.header(name)]
    if headed.status != got.status:
        differences.insert(0, f"status: GET {got.status}, HEAD {headed.status}")
    if differences:
        raise ProbeFailed(
            f"HEAD {target} does not answer like GET",
            hint="build the same status line and headers for HEAD as for GET (Content-Length is "
                 "the file's size even though no body follows)",
            evidence=Evidence(expected=got.head_text(), actual=headed.head_text(),
                              details=tuple(differences)))


# -- errors ---------------------------------------------------------------------


@probe(SUITE, "errors/not-found", depends=(TEXT,))
def not_found(ctx: ProbeContext) -> None:
    """GET of a file that does not exist answers 404 with a body (a short explanation).

    Source: docs/labs.md §11 ("A missing file gets 404 with a body").
    """
    target = "/" + quote(unique(ctx, "missing.txt"))
    with ctx.connect() as conn:
        response = fetch(ctx, Exchange(conn), "GET", target, what="missing file")
    if response.status != 404 or not response.size:
        raise ProbeFailed(
            f"GET {target} (no such file) answered {response.status} with "
            f"{response.size} body bytes, expected 404 with a body",
            hint="when the file does not exist answer 'HTTP/1.1 404 Not Found' with a short "
                 "text body (and its Content-Length)",
            evidence=Evidence(expected="404 and a body", actual=response.head_text()))


def _still_serving(ctx: ProbeContext, after: str) -> None:
    try:
        with ctx.connect() as conn:
            get_file(ctx, conn, unique(ctx, "after.txt"), text(ctx, 5), what=f"GET after {after}")
    except ProbeFailed as exc:
        raise ProbeFailed(f"after {after}, the next client was not served: {exc.reason}",
                          hint="catch the parse error, answer 400 and keep serving: one bad "
                               "request must not stop the server",
                          evidence=exc.evidence) from None


def _bad_request(ctx: ProbeContext, requests: Sequence[tuple[bytes, str]]) -> None:
    for request, label in requests:
        with ctx.connect() as conn:
            result = raw(ctx, Exchange(conn), request, what=label)
        if isinstance(result, Rejected):
            raise rejected(f"{label}: expected 400", result, request)
        if result.status != 400:
            raise ProbeFailed(
                f"{label} answered {result.status} {result.reason}, expected 400",
                hint="check the request before using it: the request line is exactly three "
                     "words (method, target, HTTP/1.x) and each header line has a ':'; "
                     "answer 400 Bad Request otherwise",
                evidence=Evidence(sent=excerpt(request), expected="400",
                                  actual=result.head_text()))
        _still_serving(ctx, label)


@probe(SUITE, "errors/bad-request-line", depends=(TEXT,))
def bad_request_line(ctx: ProbeContext) -> None:
    """A malformed request line ('HELLO', 'GET /' without a version) answers 400, and the server
    goes on serving the next client.

    Source: docs/labs.md §11 ("a malformed request line or header gets 400"); RFC 9112 §3.
    """
    _bad_request(ctx, ((b"HELLO\r\n\r\n", "a one-word request line"),
                       (b"GET /\r\n\r\n", "a request line without a version")))


@probe(SUITE, "errors/bad-header", depends=(TEXT,))
def bad_header(ctx: ProbeContext) -> None:
    """A header line without a ':' answers 400, and the server goes on serving the next client.

    Source: docs/labs.md §11 ("a malformed request line or header gets 400"); RFC 9112 §5.
    """
    target = put(ctx, unique(ctx, "h.txt"), b"headers\n")
    request = (f"GET {target} HTTP/1.1\r\nHost: localhost\r\n"
               "This header line has no colon\r\n\r\n").encode()
    _bad_request(ctx, ((request, "a header line without ':'"),))


@probe(SUITE, "errors/method-not-allowed", depends=(TEXT,))
def method_not_allowed(ctx: ProbeContext) -> None:
    """POST and DELETE of an existing file answer 405 with an Allow header naming GET (or 501 Not
    Implemented, for a server that does not know the method).

    Source: docs/labs.md §11 ("405 Method Not Allowed with an Allow header"); RFC 9110
    §15.5.6, §15.6.2.
    """
    target = put(ctx, unique(ctx, "keep.txt"), b"do not change me\n")
    for method in ("POST", "DELETE"):
        with ctx.connect() as conn:
            response = fetch(ctx, Exchange(conn), method, target, what=method)
        allow = response.header("allow") or ""
        if response.status == 501:
            continue
        if response.status != 405:
            raise ProbeFailed(
                f"{method} {target} answered {response.status} {response.reason}, expected 405",
                hint="answer any method but GET and HEAD with 405 Method Not Allowed and "
                     "'Allow: GET, HEAD'",
                evidence=Evidence(expected="405 with Allow: GET, HEAD", actual=response.head_text()))
        if "GET" not in [token.strip().upper() for token in allow.split(",")]:
            raise ProbeFailed(
                f"{method} {target} answered 405 without an Allow header naming GET",
                hint="a 405 response must say which methods work: 'Allow: GET, HEAD' "
                     "(RFC 9110 §15.5.6)",
                evidence=Evidence(expected="Allow: GET, HEAD", actual=response.head_text()))


# -- path traversal -------------------------------------------------------------


def _secret(ctx: ProbeContext) -> tuple[Path, bytes]:
    """A secret file beside the root (in its grader-owned parent): its path and content."""
    token = f"SECRET-{ctx.rng.getrandbits(64):016x}-DO-NOT-SERVE\n".encode()
    path = root(ctx).parent / unique(ctx, "secret.txt")
    path.write_bytes(token * 4)
    path.chmod(0o644)
    return path, token


def _never_served(ctx: ProbeContext, targets: Sequence[str], token: bytes, *, label: str) -> None:
    """Each of ``targets`` must get a whole 4xx response that does not carry ``token``."""
    for target in targets:
        with ctx.connect() as conn:
            exchange = Exchange(conn)
            request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
            result = raw(ctx, exchange, request, what=label)
        leaked = token in (result.body if isinstance(result, Response) else result.received)
        if leaked:
            raise ProbeFailed(
                f"{label}: GET {target} served the secret file that sits outside the folder",
                hint="percent-decode the path first, then resolve it (os.path.realpath) and "
                     "refuse it unless it is still inside the folder (os.path.commonpath); "
                     "never just join the request path to the folder",
                evidence=Evidence(sent=excerpt(request), expected="4xx, never the secret",
                                  actual=excerpt(result.body if isinstance(result, Response)
                                                 else result.received)))
        if isinstance(result, Rejected):
            raise rejected(f"{label}: GET {target}", result, request)
        if not 400 <= result.status < 500:
            raise ProbeFailed(
                f"{label}: GET {target} answered {result.status} {result.reason}, expected 4xx",
                hint="a path that leaves the folder, or names no file in it, gets 404 "
                     "(or 400/403)",
                evidence=Evidence(sent=excerpt(request), expected="400, 403 or 404",
                                  actual=result.head_text()))


@probe(SUITE, "security/dot-segments", depends=(TEXT,))
def dot_segments(ctx: ProbeContext) -> None:
    """'/../secret' and '/sub/../../secret' never serve the secret file put beside the folder:
    each gets a 4xx response.

    Source: docs/labs.md §11 ("No path traversal").
    """
    secret, token = _secret(ctx)
    put(ctx, "sub/inner.txt", b"inner\n")
    _never_served(ctx, ("/../" + secret.name, "/sub/../../" + secret.name), token,
                  label="dot segments")


@probe(SUITE, "security/encoded-dot-segments", depends=(TEXT,))
def encoded_dot_segments(ctx: ProbeContext) -> None:
    """Percent-encoded dots and slashes ('/%2e%2e/secret', '/..%2Fsecret',
    '/sub/%2E%2E/%2E%2E/secret') never serve the secret file beside the folder: 4xx each.

    A check for '..' made before percent-decoding misses them.  Source:
    docs/labs.md §11 ("No path traversal"; "percent-decoded").
    """
    secret, token = _secret(ctx)
    put(ctx, "sub/inner.txt", b"inner\n")
    _never_served(ctx, ("/%2e%2e/" + secret.name, "/..%2F" + secret.name,
                        "/sub/%2E%2E/%2E%2E/" + secret.name), token, label="encoded dot segments")


@probe(SUITE, "security/absolute-path", depends=(TEXT,))
def absolute_path(ctx: ProbeContext) -> None:
    """A path naming the secret file's absolute location ('//tmp/.../secret', '/%2Ftmp/.../secret')
    never serves it: 4xx each.

    os.path.join(folder, '/tmp/x') is '/tmp/x'.  The absolute path points
    into the grader's own temporary folder, never at a system file.
    Source: docs/labs.md §11 ("No path traversal").
    """
    secret, token = _secret(ctx)
    absolute = quote(str(secret))
    _never_served(ctx, ("/" + absolute, "/%2F" + absolute.lstrip("/")), token,
                  label="absolute path")


@probe(SUITE, "security/encoded-nul", depends=(TEXT,))
def encoded_nul(ctx: ProbeContext) -> None:
    """A path with an encoded NUL ('/file.txt%00.html', '/%00') gets a 4xx response, never the
    file before the NUL, and the server goes on serving.

    open() refuses a path with a NUL (ValueError, not OSError).  Source:
    docs/labs.md §11 ("No path traversal"; "percent-decoded").
    """
    content = text(ctx, 3)
    target = put(ctx, unique(ctx, "nul.txt"), content)
    _never_served(ctx, (target + "%00.html", "/%00"), content, label="encoded NUL")
    _still_serving(ctx, "an encoded NUL")


# -- request targets --------------------------------------------------------------


@probe(SUITE, "request/percent-encoded-name", depends=(TEXT,))
def percent_encoded(ctx: ProbeContext) -> None:
    """Percent-encoded names are decoded: '/a%20b.txt' serves 'a b.txt', '/100%25.txt' serves
    '100%.txt'.

    Source: docs/labs.md §11 ("percent-decoded").
    """
    for stem in ("a b.txt", "100%.txt"):
        with ctx.connect() as conn:
            get_file(ctx, conn, unique(ctx, stem), text(ctx, 4), what=f"the file {stem!r}")


@probe(SUITE, "request/query-ignored", depends=(TEXT,))
def query_ignored(ctx: ProbeContext) -> None:
    """A query string is not part of the file name: '/notes.txt?download=1&x=2' serves notes.txt.

    Source: docs/labs.md §11 ("a query string is ignored").
    """
    content = text(ctx, 6)
    target = put(ctx, unique(ctx, "q.txt"), content)
    with ctx.connect() as conn:
        response = fetch(ctx, Exchange(conn), "GET", target + "?download=1&x=2", what="query")
    expect_file("a query string", response, content, target + "?download=1&x=2")


# -- persistence --------------------------------------------------------------------


def _closes(ctx: ProbeContext, conn: Conn, what: str) -> None:
    """After a response that ends the connection, the server must close it."""
    end = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=4096).end
    if isinstance(end, Timeout):
        raise ProbeFailed(
            f"{what}: the response said the connection ends, but the server kept it open",
            hint="after a response with 'Connection: close' (or an HTTP/1.0 one), close the socket",
            evidence=Evidence(expected="EOF (FIN)", actual="the connection stayed open",
                              transport=end.describe()))


@probe(SUITE, "persistence/keep-alive", depends=(TEXT,))
def keep_alive(ctx: ProbeContext) -> None:
    """Two requests on one connection (HTTP/1.1 keep-alive) are both answered; or the first
    response says 'Connection: close' and the server then closes.

    Source: docs/labs.md §11 ("keep-alive"; "Connection: close"); RFC 9112 §9.3.
    """
    files = [(unique(ctx, f"{i}.txt"), text(ctx, 5)) for i in range(2)]
    targets = [put(ctx, name, content) for name, content in files]
    with ctx.connect() as conn:
        exchange = Exchange(conn)
        first = fetch(ctx, exchange, "GET", targets[0], what="request 1 of 2")
        expect_file("request 1 of 2", first, files[0][1], targets[0])
        if not exchange.reusable():
            ctx.log("the first response ends the connection (Connection: close or HTTP/1.0)")
            _closes(ctx, conn, "request 1 of 2")
            return
        try:
            second = fetch(ctx, exchange, "GET", targets[1], what="request 2 of 2")
        except ProbeFailed as exc:
            raise ProbeFailed(
                f"the second request on a kept-alive connection: {exc.reason}",
                hint="HTTP/1.1 connections stay open: loop reading requests on the same socket "
                     "until the client closes, or send 'Connection: close' and then close",
                evidence=exc.evidence) from None
        expect_file("request 2 of 2", second, files[1][1], targets[1])


@probe(SUITE, "persistence/pipelining", depends=(TEXT,))
def pipelining(ctx: ProbeContext) -> None:
    """Three requests sent in one write are answered in order, each with its own file (or the
    server ends the connection with 'Connection: close' after answering some of them).

    Source: docs/labs.md §11 ("pipelined"); RFC 9112 §9.3.2.
    """
    files = [(unique(ctx, f"p{i}.txt"), text(ctx, 3 + i)) for i in range(3)]
    targets = [put(ctx, name, content) for name, content in files]
    with ctx.connect() as conn:
        exchange = Exchange(conn)
        requests = b"".join(f"GET {t} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode() for t in targets)
        conn.send_all(requests, deadline=ctx.reply_deadline())
        ctx.log(f"sent {len(targets)} requests in one write ({len(requests)} bytes)")
        for index, target in enumerate(targets):
            what = f"pipelined request {index + 1} of {len(targets)}"
            exchange.sent_raw("GET")
            result = exchange.response(deadline=ctx.reply_deadline())
            if isinstance(result, Rejected):
                failure = rejected(what, result, requests)
                if result.by_h11 or index == 0:
                    hint = failure.hint
                elif isinstance(result.end, Closed | Reset) and not result.received:
                    hint = ("the server closed the connection after a response that did not say "
                            "'Connection: close': keep reading requests on the connection, or "
                            "send 'Connection: close' before closing")
                else:
                    hint = ("keep the bytes after the first request's empty line: they are the "
                            "next request (one recv() may hold several requests); answer each "
                            "in order")
                raise ProbeFailed(failure.reason, hint=hint, evidence=failure.evidence)
            expect_file(what, result, files[index][1], target)
            if not exchange.reusable():
                ctx.log(f"{what}: the response ends the connection")
                _closes(ctx, conn, what)
                return


@probe(SUITE, "partial/one-byte-request", depends=(TEXT,), timeout=30.0,
       params=(Param("gap", 0.002, "seconds", "time between two segments"),))
def one_byte_request(ctx: ProbeContext) -> None:
    """A request written one byte per segment (TCP_NODELAY, {gap} apart) is answered like any
    other.

    At the places where a request is cut by a program that trusts one
    recv() (after the first byte, after the method, after the request line,
    before the empty line and before its last byte) the next byte is sent
    only once the server has read the previous ones (the grader watches the
    server's receive queue), so those reads do return part of the request
    whatever the machine's load: read until the empty line.  Source:
    docs/labs.md §11 ("one byte at a time").
    """
    gap = ctx.param_float("gap")
    content = text(ctx, 8)
    target = put(ctx, unique(ctx, "slow.txt"), content)
    with ctx.connect(nodelay=True) as conn:
        exchange = Exchange(conn)
        request = exchange.request("GET", target, (("User-Agent", "sockgrade"), ("Accept", "*/*")))
        cuts = {1, len("GET "), request.index(b"\r\n") + 2, len(request) - 2, len(request) - 1}
        pacer = queues.Pacer(ctx, conn)
        for index in range(len(request)):
            if index in cuts:
                pacer()
            elif index:
                time.sleep(gap)  # the stimulus pattern itself, not a readiness wait
            sent = conn.send_all(request[index : index + 1], deadline=ctx.reply_deadline())
            if not isinstance(sent, Done):
                ctx.log(f"byte {index + 1} of {len(request)}: {sent.describe()}")
                break
        ctx.log(f"sent {len(request)} bytes one per segment; before bytes {sorted(cuts)}: "
                f"{pacer.describe()}")
        result = exchange.response(deadline=ctx.reply_deadline())
    if isinstance(result, Rejected):
        raise rejected("a request sent one byte at a time", result, request)
    expect_file("a request sent one byte at a time", result, content, target)


@probe(SUITE, LARGE, depends=(TEXT,), timeout=90.0,
       params=(Param("bytes", 20 * 1024 * 1024, "bytes", "size of the file"),
               Param("pause", 0.001, "seconds", "pause after each read of the response")))
def slow_reader(ctx: ProbeContext) -> None:
    """A {bytes} file reaches a client that reads slowly (64 KiB receive buffer, {pause} pause after
    each read) whole: same size and SHA-256.

    The file is larger than any socket buffer, so one send() of it sends
    only part (sendall() loops).  The whole file may take up to a minute,
    but a body that stops (no byte for the reply timeout while the client
    reads) has stopped for good: the probe fails then, rather than wait for
    a server that went back to waiting for the next request.
    Source: docs/labs.md §11 ("a 20 MiB file to a client that reads slowly").
    """
    size = ctx.param_int("bytes")
    pause = ctx.param_float("pause")
    content = printable(ctx.rng, size)  # sizes are the subject here, not byte values
    target = put(ctx, unique(ctx, "large.bin"), content)
    del content
    path = root(ctx) / unique(ctx, "large.bin")

    def slowly(_received: int) -> None:
        time.sleep(pause)  # the slow reader itself (the stimulus), not a readiness wait

    with ctx.connect(rcvbuf=64 * 1024) as conn:
        exchange = Exchange(conn, pace=slowly)
        response = fetch(ctx, exchange, "GET", target, what="large file",
                         wait=max(ctx.reply_timeout, 60.0), stall=ctx.reply_timeout)
    with path.open("rb") as handle:
        want = hashlib.file_digest(handle, "sha256").hexdigest()
    if response.status != 200 or response.size != size or response.sha256 != want:
        raise ProbeFailed(
            f"GET of a {size}-byte file: status {response.status}, {response.size} body bytes "
            f"(SHA-256 {response.sha256[:16]}...)",
            hint="send the file with sendall() (send() may send only part), in chunks read in "
                 "binary mode",
            evidence=Evidence(expected=f"200, {size} bytes, SHA-256 {want}",
                              actual=f"{response.status}, {response.size} bytes, "
                                     f"SHA-256 {response.sha256}"))
    ctx.log(f"{size} bytes arrived whole in {response.elapsed:.2f} s")


@probe(SUITE, "concurrency/half-request", depends=(TEXT,), tier=Tier.INFORMATIONAL)
def half_request(ctx: ProbeContext) -> None:
    """A client that sends half a request and stays silent does not stop another client from
    being served.

    Informational by default (an iterative server is a correct lab 11
    solution); a course that requires concurrency makes it required.
    Source: docs/labs.md §11 ("half a request").
    """
    target = put(ctx, unique(ctx, "busy.txt"), b"busy\n")
    with ctx.connect() as stuck:
        stuck.send_all(f"GET {target} HTTP/1.1\r\nHo".encode(), deadline=ctx.reply_deadline())
        ctx.log("client 1 sent half a request and waits")
        try:
            with ctx.connect() as conn:
                get_file(ctx, conn, unique(ctx, "other.txt"), text(ctx, 3), what="client 2")
        except ProbeFailed as exc:
            raise ProbeFailed(f"while a client sat on half a request: {exc.reason}",
                              hint="serve each connection in its own thread (or with selectors)",
                              evidence=exc.evidence) from None


# -- shared robustness and resource probes -------------------------------------------

_HELLO = b"hello from the sockgrade http probes\n" * 8


def _session(ctx: ProbeContext, conn: Conn, index: int) -> None:
    get_file(ctx, conn, "hello.txt", _HELLO, what=f"client {index + 1}")


def _opening(ctx: ProbeContext, conn: Conn) -> None:
    put(ctx, "hello.txt", _HELLO)
    conn.send_all(b"GET /hello.txt HTTP/1.1\r\nHost: loc", deadline=ctx.reply_deadline())


def _request(ctx: ProbeContext, index: int) -> bytes:
    put(ctx, "hello.txt", _HELLO)
    return b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _bulk(ctx: ProbeContext) -> bytes:
    put(ctx, "bulk.bin", printable(ctx.rng, 8 * 1024 * 1024))
    return b"GET /bulk.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"


generic.register(
    generic.ServerLab(suite=SUITE, source=SOURCE, session=_session, opening=_opening,
                      depends=(TEXT,), sequential_count=200, request=_request, bulk=_bulk,
                      bulk_depends=(LARGE,)),
    which=(generic.CLIENT_RESET, generic.RESET_BEFORE_REPLY, generic.RESET_DURING_REPLY,
           generic.SEQUENTIAL, generic.NO_FD_LEAK, generic.IDLE_CPU, generic.IDLE_CPU_CLIENT))
