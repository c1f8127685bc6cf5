"""Probes for the FTP server (family ``ftp``; docs/labs.md §13; RFC 959).

Theory of operation: the grader does not speak FTP itself; Python's standard
``ftplib`` client does.  :class:`Client` is ``ftplib.FTP`` attached to a
connection the grader opened (``ctx.connect()``), so ftplib parses every reply
(RFC 959 §4.2: a three-digit code, multi-line replies, ``parse227`` for PASV,
``parse257`` for PWD) and a server is failed only for what that real client
rejects, or for a reply code the RFC prescribes (530, 550, 500/502, 221).
Two things are the grader's own: every read waits at most until the reply
deadline, and data connections are opened where the server is reached
(``ctx.opener``: inside the container's network namespace under Docker).

Passive mode only (RFC 959 §4.1.1 PASV).  Like ftplib by default
(``trust_server_pasv_ipv4_address`` False, since Python 3.10) the data
connection goes to the control connection's address at the port of the 227
reply; only ``pasv/address`` judges the address itself (docs/labs.md §13:
it must be one a client can connect to, and a loopback address is taken as
the control connection's, which is how a server in a container is reached).

The served folder is the instance's ``{root}`` (``ctx.scratch``), a fresh
folder whose parent holds nothing else: the probes put files there before
asking for them, put secrets *beside* it for the traversal probes, and check
the file system after every upload.  Probes of one lane share the folder, so
every name a probe makes is its own (:func:`_name`).  Folders are made
world-writable because the server may run as another user (Docker).
"""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import ipaddress
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

from grader.context import ProbeContext
from grader.events import Closed
from grader.net import Conn, reset_or_raise
from grader.probes import generic, queues
from grader.probes.common import binary, file_digest, register_startup, wait_for
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt

SUITE = "ftp"
SOURCE = "docs/labs.md §13"
GREETING = "session/greeting"
LOGIN = "session/login"
PWD = "session/pwd"
CWD = "session/cwd"
TYPE_I = "session/type-i"
PASV = "pasv/data-connection"
PASV_ADDRESS = "pasv/address"
LIST = "transfer/list"
RETR = "transfer/retr"
STOR = "transfer/stor"
#: Bytes per read or write on a data connection.
BLOCK = 64 * 1024

register_startup(SUITE)
probe = REGISTRY.probe


class DataRefused(Exception):
    """The data connection to ``(host, port)`` could not be opened (``cause`` says why)."""

    def __init__(self, host: str, port: int, cause: str) -> None:
        super().__init__(f"{host}:{port}: {cause}")
        self.host, self.port, self.cause = host, port, cause


#: Advice for a download whose data connection never ends.
CLOSE_HINT = ("close the data connection when everything is sent (a 'with' block): its EOF is "
              "the end of the listing or file; then reply 226")
#: Advice for an upload the server stops reading.
READ_HINT = ("read the data connection until recv() returns b'' (the client's close ends the "
             "file), writing every chunk, then reply 226")


class DataStalled(Exception):
    """A data connection neither ended nor moved before the deadline; ``received`` bytes moved,
    ``hint`` is the likely fix."""

    def __init__(self, received: int, cause: str, hint: str) -> None:
        super().__init__(cause)
        self.received, self.cause, self.hint = received, cause, hint


class Client(ftplib.FTP):
    """ftplib's FTP client on the grader's connection ``conn`` to the server under test.

    Each control read waits until ``ctx.reply_deadline()`` at most (raising
    ``TimeoutError``); ``log`` keeps every line sent (``->``) and received
    (``<-``) for evidence.  Data connections are passive (see the module
    text).  Call :meth:`release` (or use :func:`session`) when done: the
    reader ftplib keeps on the socket would otherwise hold it open.
    """

    def __init__(self, ctx: ProbeContext, conn: Conn) -> None:
        super().__init__(timeout=ctx.reply_timeout, encoding="utf-8")
        self.ctx = ctx
        self.conn = conn
        self.sock = conn.sock
        self.af = conn.sock.family
        # where the grader connected; not getpeername(), which raises ENOTCONN once a reset
        # has ended the connection (the session's guard then reports the reset)
        self.host, self.port = ctx.address
        self.sock.settimeout(ctx.reply_timeout)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.log: list[str] = []
        #: The last 227 reply and the (host, port) ftplib parsed from it.
        self.pasv_reply: str | None = None
        self.pasv_address: tuple[str, int] | None = None

    # -- control connection -------------------------------------------------------

    def _arm(self) -> None:
        self.conn.sock.settimeout(max(0.001, self.ctx.reply_deadline() - time.monotonic()))

    def putline(self, line: str) -> None:  # ftplib's, bounded and logged
        self.log.append(f"-> {line}")
        self._arm()
        super().putline(line)

    def getline(self) -> str:  # ftplib's, bounded and logged
        self._arm()
        try:
            line = super().getline()
        except EOFError:
            self.log.append("<- (connection closed)")
            raise
        self.log.append(f"<- {line}")
        return line

    def release(self) -> None:
        """Drop ftplib's reader; the socket itself is closed by ``conn`` (idempotent)."""
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
        with contextlib.suppress(OSError):  # already closed
            self.conn.sock.setblocking(False)

    # -- data connections -----------------------------------------------------------

    def makepasv(self) -> tuple[str, int]:
        """PASV; ftplib's own choice: the control connection's host, the 227 reply's port."""
        reply = self.sendcmd("PASV")
        host, port = ftplib.parse227(reply)
        self.pasv_reply, self.pasv_address = reply, (host, port)
        return str(self.host), port

    def open_data(self, host: str, port: int, *, rcvbuf: int | None = None) -> socket.socket:
        """A data connection to ``(host, port)``, made where the server is reached; tracked.

        Raises :class:`DataRefused` when it cannot be opened before the reply deadline.
        """
        sock = self.ctx.track(self.ctx.opener(socket.AF_INET, socket.SOCK_STREAM))
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(max(0.001, self.ctx.reply_deadline() - time.monotonic()))
        try:
            sock.connect((host, port))
        except OSError as exc:
            sock.close()
            self.log.append(f"data connection to {host}:{port}: {exc}")
            raise DataRefused(host, port, str(exc) or type(exc).__name__) from None
        return sock

    def ntransfercmd(self, cmd: str, rest: int | str | None = None, *,
                     rcvbuf: int | None = None) -> tuple[socket.socket, int | None]:
        """ftplib's passive transfer start: PASV, connect, send ``cmd``, require a 1xx reply."""
        host, port = self.makepasv()
        data = self.open_data(host, port, rcvbuf=rcvbuf)
        try:
            reply = self.sendcmd(cmd)
            if reply[0] == "2":
                reply = self.getresp()
            if reply[0] != "1":
                raise ftplib.error_reply(reply)
        except BaseException:
            data.close()
            raise
        return data, None

    def download(self, cmd: str, *, wait: float | None = None) -> bytes:
        """Run ``cmd`` (LIST, RETR x) and return the data connection's bytes up to its EOF;
        then require the 2xx end-of-transfer reply (ftplib's ``voidresp``).

        The whole transfer must end within ``wait`` seconds (default: the reply
        timeout); raises :class:`DataStalled` otherwise, and ftplib's errors.
        """
        deadline = self.ctx.reply_deadline(wait)
        data, _ = self.ntransfercmd(cmd)
        received = bytearray()
        with data:
            while True:
                data.settimeout(max(0.001, deadline - time.monotonic()))
                try:
                    chunk = data.recv(BLOCK)
                except TimeoutError:
                    raise DataStalled(len(received), "the data connection was not closed "
                                      "before the deadline", CLOSE_HINT) from None
                if not chunk:
                    break
                received += chunk
        self.log.append(f"data: {len(received)} bytes, then EOF")
        self.voidresp()
        return bytes(received)

    def upload(self, cmd: str, content: bytes, *, wait: float | None = None) -> None:
        """Run ``cmd`` (STOR x), send ``content`` on the data connection and close it (EOF);
        then require the 2xx end-of-transfer reply.  Raises :class:`DataStalled` when the
        server stops reading before the deadline, and ftplib's errors."""
        deadline = self.ctx.reply_deadline(wait)
        data, _ = self.ntransfercmd(cmd)
        with data:
            view = memoryview(content)
            for at in range(0, len(content), BLOCK):
                data.settimeout(max(0.001, deadline - time.monotonic()))
                try:
                    data.sendall(view[at : at + BLOCK])
                except TimeoutError:
                    raise DataStalled(at, "the server stopped reading the data connection",
                                      READ_HINT) from None
                except OSError as exc:
                    reset_or_raise(exc)  # any other error is the grader's: the probe ends as error
                    raise DataStalled(at, f"the server closed or reset the data connection "
                                      f"before the upload ended ({exc})", READ_HINT) from None
        self.log.append(f"data: sent {len(content)} bytes, then closed")
        self.voidresp()


def reply_of(client: Client, line: str) -> str:
    """Send ``line``; the reply whatever its code (ftplib's getresp: 1xx-3xx returned, 4xx
    and 5xx caught).  ftplib's error_proto (a malformed reply) and socket errors propagate."""
    try:
        return client.sendcmd(line)
    except (ftplib.error_temp, ftplib.error_perm) as exc:
        return str(exc.args[0])


def _evidence(client: Client, *, sent: str | None = None, expected: str | None = None,
              actual: str | None = None, transport: str | None = None) -> Evidence:
    """Evidence with the control conversation's last lines as details."""
    return Evidence(sent=sent, expected=expected, actual=actual, transport=transport,
                    details=tuple(client.log[-10:]))


@contextlib.contextmanager
def guard(client: Client, what: str) -> Iterator[None]:
    """Turn what ftplib or the network raises inside the block into a :class:`ProbeFailed`
    about ``what``, with the control conversation's tail as evidence."""
    try:
        yield
    except (ProbeFailed, ProbeError):
        raise
    except DataRefused as exc:
        raise ProbeFailed(
            f"{what}: the data connection to {exc.host}:{exc.port} could not be opened "
            f"({exc.cause})",
            hint="listen for the data connection before replying 227, and give its port as "
                 "p1,p2 with p1 = port // 256 and p2 = port % 256 (RFC 959 §4.1.1 PASV)",
            evidence=_evidence(client, actual=client.pasv_reply or "no 227 reply"),
        ) from None
    except DataStalled as exc:
        raise ProbeFailed(
            f"{what}: {exc.cause} ({exc.received} bytes moved)",
            hint=exc.hint,
            evidence=_evidence(client, actual=f"{exc.received} bytes"),
        ) from None
    except ftplib.error_proto as exc:
        raise ProbeFailed(
            f"{what}: ftplib rejected the reply {exc.args[0]!r} as not FTP",
            hint="every reply line is a three-digit code, a space (a '-' on the first lines of "
                 "a multi-line reply) and text, ending in \\r\\n (RFC 959 §4.2)",
            evidence=_evidence(client),
        ) from None
    except ftplib.Error as exc:  # error_reply / error_temp / error_perm: an unexpected code
        raise ProbeFailed(
            f"{what}: unexpected reply {str(exc.args[0])!r}",
            hint="see RFC 959 §5.4 for the replies each command may give",
            evidence=_evidence(client, actual=str(exc.args[0])),
        ) from None
    except EOFError:
        sent = next((line[3:] for line in reversed(client.log) if line.startswith("->")), None)
        raise ProbeFailed(
            f"{what}: the server closed the control connection",
            hint="did the session's handler crash? (see the stderr tail)",
            evidence=_evidence(client, sent=sent or "(nothing yet)"),
        ) from None
    except TimeoutError:
        raise ProbeFailed(
            f"{what}: no complete reply before the deadline",
            hint="end every reply line with \\r\\n and answer every command; a transfer's "
                 "150 reply comes before the data, its 226 after the data connection closes",
            evidence=_evidence(client),
        ) from None
    except OSError as exc:
        reset_or_raise(exc)  # a reset or refusal is the server's; any other error the grader's
        raise ProbeFailed(
            f"{what}: the connection failed: {exc}",
            hint="did the server crash or reset the connection? (see the stderr tail)",
            evidence=_evidence(client),
        ) from None


def expect(client: Client, line: str, codes: tuple[str, ...], *, what: str, hint: str) -> str:
    """Send ``line`` and require a reply whose code is one of ``codes``; returns the reply."""
    with guard(client, what):
        reply = reply_of(client, line)
    if reply[:3] not in codes:
        raise ProbeFailed(
            f"{what}: {line!r} got {reply!r}, expected {' or '.join(codes)}",
            hint=hint,
            evidence=_evidence(client, sent=line, expected=" or ".join(codes), actual=reply),
        )
    return reply


def greet(client: Client) -> None:
    """Read the greeting; require 220 (RFC 959 §5.4: connection establishment 220)."""
    with guard(client, "the greeting"):
        try:
            client.welcome = client.getresp()
        except (ftplib.error_temp, ftplib.error_perm) as exc:
            client.welcome = str(exc.args[0])
    if not client.welcome.startswith("220"):
        raise ProbeFailed(
            f"the greeting was {client.welcome!r}, expected 220",
            hint="send '220 <text>\\r\\n' as soon as a client connects, before reading anything",
            evidence=_evidence(client, expected="220 ...", actual=client.welcome),
        )


def credentials(ctx: ProbeContext) -> tuple[str, str]:
    """The assignment's user and password (``[protocol]``; default student / secret)."""
    table = ctx.protocol
    return str(table.get("user", "student")), str(table.get("password", "secret"))


def login(client: Client) -> None:
    """ftplib's ``login()`` with the assignment's credentials: USER, 331, PASS, 230 (RFC 959 §5.4)."""
    user, password = credentials(client.ctx)
    with guard(client, f"logging in as {user!r}"):
        client.login(user, password)


@contextlib.contextmanager
def session(ctx: ProbeContext, *, logged_in: bool = True,
            conn: Conn | None = None) -> Iterator[Client]:
    """A greeted (and by default logged-in) ftplib client on a new or given connection."""
    conn = conn or ctx.connect()
    client = Client(ctx, conn)
    try:
        greet(client)
        if logged_in:
            login(client)
        yield client
    finally:
        client.release()
        conn.close()


def folder(ctx: ProbeContext) -> Path:
    """The served folder ``{root}`` on the grader's side; ProbeError when not passed."""
    if ctx.scratch is None:
        raise ProbeError("the assignment's command must pass {root} as the served folder")
    return ctx.scratch


def _name(ctx: ProbeContext, stem: str) -> str:
    """A name unique to this probe (probes of one lane share the served folder)."""
    return f"{ctx.config.name.split('/')[-1]}-{stem}"


def make_dir(path: Path) -> Path:
    """Make ``path`` (and parents), writable by whatever user the server runs as."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)  # the server may run as another user (Docker)
    return path


def make_file(path: Path, content: bytes) -> bytes:
    """Write ``content`` to ``path``, readable by every user; returns ``content``."""
    path.write_bytes(content)
    os.chmod(path, 0o644)
    return content


def current(client: Client, *, what: str) -> str:
    """PWD; require 257 with a quoted path ftplib can parse; the path, trailing '/' dropped."""
    reply = expect(client, "PWD", ("257",), what=what,
                   hint='answer PWD with 257 "/path" (RFC 959 §5.4; the path in double quotes)')
    with guard(client, what):
        path = ftplib.parse257(reply)
    if not path:
        raise ProbeFailed(f"{what}: ftplib found no quoted path in {reply!r}",
                          hint='put the path in double quotes: 257 "/docs" is the current directory',
                          evidence=_evidence(client, actual=reply))
    return path.rstrip("/") or "/"


def expect_pwd(client: Client, want: str, *, what: str) -> None:
    """Require PWD to name ``want`` (the folder as the client sees it, ``/`` being ROOT)."""
    got = current(client, what=what)
    if got != want:
        raise ProbeFailed(
            f"{what}: PWD says {got!r}, expected {want!r}",
            hint="keep each session's current folder as the client sees it: '/' is ROOT, "
                 "'/docs' after CWD docs, back to '/' after CWD .. (never the real path on disk)",
            evidence=_evidence(client, expected=f'257 "{want}"', actual=got),
        )


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative and '/'-separated; symlinks not followed."""
    found: set[str] = set()
    for top, dirs, files in os.walk(root):
        rel = Path(top).relative_to(root)
        found.update((rel / entry).as_posix() for entry in (*dirs, *files))
    return found


def check_stored(client: Client, path: Path, content: bytes, *, what: str) -> None:
    """Require ``path`` to hold exactly ``content`` (size and SHA-256) before the deadline."""
    want = (len(content), hashlib.sha256(content).hexdigest())
    if wait_for(lambda: True if file_digest(path) == want else None,
                deadline=client.ctx.reply_deadline()):
        client.ctx.log(f"{path.name} stored: {want[0]} bytes, sha256 {want[1][:16]}...")
        return
    found = file_digest(path)
    listing = ", ".join(sorted(tree(folder(client.ctx)))[:12]) or "nothing"
    raise ProbeFailed(
        f"{what}: the server replied 226 but {path.relative_to(folder(client.ctx))!r} "
        + ("is not in ROOT" if found is None else f"differs from the upload ({found[0]} bytes)"),
        hint="store the upload under the name given, in the session's current folder; "
             + READ_HINT,
        evidence=_evidence(client, expected=f"{want[0]} bytes, SHA-256 {want[1]}",
                           actual=f"ROOT holds: {listing}" if found is None
                           else f"{found[0]} bytes, SHA-256 {found[1]}"),
    )


# -- session ---------------------------------------------------------------------------


@probe(SUITE, GREETING, depends=("startup/listens",))
def greeting(ctx: ProbeContext) -> None:
    """A client that connects is greeted with a 220 reply before it sends anything.

    Source: docs/labs.md §13 ("greets every client with 220"); RFC 959 §5.4.
    """
    with session(ctx, logged_in=False) as client:
        ctx.log(f"greeting: {client.welcome!r}")


@probe(SUITE, LOGIN, weight=2, depends=(GREETING,))
def login_ok(ctx: ProbeContext) -> None:
    """ftplib's login() with the assignment's user and password succeeds (USER, then PASS:
    331, then 230).

    Source: docs/labs.md §13 ("USER and PASS"); RFC 959 §4.1.1 and §5.4.
    """
    with session(ctx, logged_in=False) as client:
        try:
            login(client)
        except ProbeFailed as exc:
            raise ProbeFailed(exc.reason,
                              hint="answer USER with 331, then PASS with 230 when the password "
                                   "matches; compare the argument without its line end "
                                   "(commands end in \\r\\n: strip both)",
                              evidence=exc.evidence) from None


@probe(SUITE, "session/wrong-password", depends=(LOGIN,))
def wrong_password(ctx: ProbeContext) -> None:
    """A wrong password gets 530 and the connection stays usable: the right one then logs in.

    Source: docs/labs.md §13 ("a wrong password gets 530"); RFC 959 §5.4 (530 Not logged in).
    """
    user, password = credentials(ctx)
    with session(ctx, logged_in=False) as client:
        expect(client, f"USER {user}", ("331",), what="USER",
               hint="answer USER with 331 (password required), then check PASS")
        expect(client, f"PASS {password}-wrong", ("530",), what="PASS with a wrong password",
               hint="compare the password with the assignment's and answer 530 when it differs; "
                    "a server that lets anyone in is not logging anyone in")
        try:
            login(client)
        except ProbeFailed as exc:
            raise ProbeFailed(f"after a wrong password, logging in again failed: {exc.reason}",
                              hint="after 530 keep reading commands on the same connection; "
                                   "a new USER starts a new login",
                              evidence=exc.evidence) from None


@probe(SUITE, "session/syst", depends=(LOGIN,))
def syst(ctx: ProbeContext) -> None:
    """SYST gets 215 and a system name, such as '215 UNIX Type: L8'.

    Source: docs/labs.md §13 ("SYST"); RFC 959 §4.1.3 and §5.4.
    """
    with session(ctx) as client:
        expect(client, "SYST", ("215",), what="SYST",
               hint="answer SYST with '215 UNIX Type: L8'")


@probe(SUITE, PWD, depends=(LOGIN,))
def pwd(ctx: ProbeContext) -> None:
    """Right after login, PWD gets 257 with the path "/" in double quotes: ROOT is "/".

    Source: docs/labs.md §13 ("as clients see it"); RFC 959 §5.4 (257 "PATHNAME").
    """
    with session(ctx) as client:
        expect_pwd(client, "/", what="PWD after login")


@probe(SUITE, CWD, depends=(PWD,))
def cwd(ctx: ProbeContext) -> None:
    """CWD into a folder of ROOT gets 250 (or 200) and PWD names it; 'CWD ..' comes back to "/".

    Source: docs/labs.md §13 ("CWD"); RFC 959 §4.1.1 (CWD) and §5.4.
    """
    name = _name(ctx, "docs")
    make_dir(folder(ctx) / name)
    with session(ctx) as client:
        expect(client, f"CWD {name}", ("250", "200"), what=f"CWD into the folder {name!r}",
               hint="CWD to an existing folder: change the session's folder and reply 250")
        expect_pwd(client, f"/{name}", what="PWD after CWD")
        expect(client, "CWD ..", ("250", "200"), what="CWD ..",
               hint="'..' is the parent folder: CWD .. from /docs goes back to /")
        expect_pwd(client, "/", what="PWD after CWD ..")


@probe(SUITE, "session/cwd-missing", depends=(PWD,))
def cwd_missing(ctx: ProbeContext) -> None:
    """CWD to a folder that does not exist gets 550, and the current folder does not change.

    Source: docs/labs.md §13 ("a missing folder gets 550"); RFC 959 §5.4.
    """
    with session(ctx) as client:
        expect(client, f"CWD {_name(ctx, 'no-such-folder')}", ("550",),
               what="CWD to a missing folder",
               hint="check that the folder exists (os.path.isdir) and reply 550 if not")
        expect_pwd(client, "/", what="PWD after a refused CWD")


@probe(SUITE, TYPE_I, depends=(LOGIN,))
def type_i(ctx: ProbeContext) -> None:
    """TYPE I (binary, 'image') gets 200. Source: docs/labs.md §13 ("TYPE I"); RFC 959 §3.1.1.3."""
    with session(ctx) as client:
        expect(client, "TYPE I", ("200",), what="TYPE I",
               hint="answer TYPE I with 200; transfers then send the file's bytes unchanged")


# -- data connections ------------------------------------------------------------------


def _listing_names(client: Client, what: str) -> set[str]:
    """LIST over a passive data connection; the last word of every line."""
    with guard(client, what):
        data = client.download("LIST")
    lines = data.decode("utf-8", "replace").splitlines()
    client.ctx.log(f"{what}: {len(lines)} lines")
    return {line.split()[-1] for line in lines if line.split()}


def _list_over(client: Client, host: str, port: int, what: str) -> None:
    """Open a data connection to ``(host, port)`` (after PASV), LIST over it, require the
    1xx reply, the data up to EOF and the 2xx end-of-transfer reply."""
    with guard(client, what):
        data = client.open_data(host, port)
        with data:
            reply = client.sendcmd("LIST")
            if reply[0] != "1":
                raise ftplib.error_reply(reply)
            deadline = client.ctx.reply_deadline()
            received = 0
            while True:
                data.settimeout(max(0.001, deadline - time.monotonic()))
                try:
                    chunk = data.recv(BLOCK)
                except TimeoutError:
                    raise DataStalled(received, "the data connection was not closed "
                                      "before the deadline", CLOSE_HINT) from None
                if not chunk:
                    break
                received += len(chunk)
        client.voidresp()


def unusable_address(host: str) -> str | None:
    """Why the 227 reply's address ``host`` ('h1.h2.h3.h4', as ftplib.parse227 gives it) is
    not one a client can connect to, or None when it is (docs/labs.md §13)."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return "it is not an IPv4 address (four numbers 0-255)"
    if address.is_unspecified:
        return "0.0.0.0 means 'every address' to bind(), and is no address to connect to"
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return "it is a multicast or broadcast address"
    return None


def data_target(host: str, control_peer: str) -> str:
    """Where the grader connects for a 227 address ``host``: a loopback address means the
    address the client used for the control connection (``control_peer``); any other address
    is taken as given (docs/labs.md §13)."""
    return control_peer if ipaddress.IPv4Address(host).is_loopback else host


def _pasv(client: Client) -> tuple[str, str, int]:
    """PASV; require 227 and a reply ftplib can parse: ``(reply, host, port)``."""
    reply = expect(client, "PASV", ("227",), what="PASV",
                   hint="answer PASV with '227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)'")
    with guard(client, "the 227 reply"):
        host, port = ftplib.parse227(reply)
    client.pasv_reply, client.pasv_address = reply, (host, port)
    return reply, host, port


@probe(SUITE, PASV, weight=2, depends=(LOGIN,))
def pasv_data_connection(ctx: ProbeContext) -> None:
    """PASV gets 227 with (h1,h2,h3,h4,p1,p2), and a data connection to port p1 × 256 + p2
    carries a LIST: 150, the listing, EOF, 226.

    Like ftplib, the grader connects to the control connection's address at
    that port ('pasv/address' judges the address).  Source: docs/labs.md
    §13 ("Transfers use passive mode"); RFC 959 §4.1.1 (PASV) and §3.2.
    """
    with session(ctx) as client:
        _, host, port = _pasv(client)
        target = str(client.host)
        ctx.log(f"227 gives {host}:{port}; connecting to {target}:{port}, as ftplib does")
        _list_over(client, target, port, f"LIST over the data connection to port {port}")


@probe(SUITE, PASV_ADDRESS, depends=(PASV,))
def pasv_address(ctx: ProbeContext) -> None:
    """The 227 reply's address is one a client can connect to: never 0.0.0.0, and a data
    connection to it carries a LIST.

    A loopback address (127.x) is taken to mean the address the client used
    for the control connection, so a server in a container that answers with
    its own loopback is reached as it would be behind port publishing.
    Source: docs/labs.md §13 ("The address must be one a client can connect
    to"); RFC 959 §4.1.1 (PASV: "the host and port address this server is
    listening on").
    """
    with session(ctx) as client:
        reply, host, port = _pasv(client)
        why = unusable_address(host)
        if why is not None:
            raise ProbeFailed(
                f"the 227 reply gives the address {host}, which no client can connect to: {why}",
                hint="give the address the client reached you on (conn.getsockname()[0] of "
                     "the control connection), not the 0.0.0.0 the listener is bound to",
                evidence=_evidence(client, expected="the server's address, such as 127,0,0,1",
                                   actual=reply))
        target = data_target(host, str(client.host))
        ctx.log(f"227 gives {host}:{port}; connecting to {target}:{port}")
        _list_over(client, target, port, f"LIST over a data connection to {host}:{port}")


@probe(SUITE, LIST, weight=2, depends=(PASV, CWD))
def listing(ctx: ProbeContext) -> None:
    """LIST names every file and folder of the current folder, one per line, the name last
    (like 'ls -l'); after CWD into a folder, LIST names that folder's files.

    Source: docs/labs.md §13 ("LIST"); RFC 959 §4.1.3 (LIST).
    """
    root = folder(ctx)
    inner = _name(ctx, "folder")
    files = {_name(ctx, "alpha.txt"), _name(ctx, "beta.bin"), inner}
    for name in files - {inner}:
        make_file(root / name, name.encode() * 10)
    make_dir(root / inner)
    inside = {_name(ctx, "gamma.txt")}
    make_file(root / inner / _name(ctx, "gamma.txt"), b"gamma\n")
    with session(ctx) as client:
        for where, want in (("/", files), (f"/{inner}", inside)):
            if where != "/":
                expect(client, f"CWD {inner}", ("250", "200"), what="CWD", hint="see session/cwd")
            names = _listing_names(client, f"LIST of {where}")
            missing = sorted(want - names)
            if missing:
                raise ProbeFailed(
                    f"LIST of {where} does not name {', '.join(missing)}",
                    hint="send one line per entry of the session's current folder, ending with "
                         "the entry's name (os.listdir of that folder), on the data connection",
                    evidence=_evidence(client, expected=", ".join(sorted(want)),
                                       actual=", ".join(sorted(names)) or "an empty listing"))


@probe(SUITE, RETR, weight=2, depends=(PASV, TYPE_I), timeout=60.0,
       params=(Param("bytes", 5 * 1024 * 1024, "bytes", "size of the file"),))
def retr(ctx: ProbeContext) -> None:
    """After TYPE I, RETR of a {bytes} binary file in ROOT sends exactly its bytes (same
    SHA-256), closes the data connection and replies 226.

    Source: docs/labs.md §13 ("RETR"); RFC 959 §4.1.3 (RETR).
    """
    name = _name(ctx, "payload.bin")
    content = make_file(folder(ctx) / name, binary(ctx.rng, ctx.param_int("bytes")))
    with session(ctx) as client:
        expect(client, "TYPE I", ("200",), what="TYPE I", hint="see session/type-i")
        with guard(client, f"RETR of a {len(content)}-byte file"):
            got = client.download(f"RETR {name}", wait=max(ctx.reply_timeout, 30.0))
    if got != content:
        offset = next((i for i, (a, b) in enumerate(zip(got, content, strict=False)) if a != b),
                      min(len(got), len(content)))
        raise ProbeFailed(
            f"RETR sent {len(got)} bytes that differ from the file's {len(content)}",
            hint="open the file in binary mode ('rb') and send every chunk with sendall(); "
                 "send() may send only part of a buffer; never translate line ends",
            evidence=Evidence(
                expected=f"{len(content)} bytes, SHA-256 {hashlib.sha256(content).hexdigest()}",
                actual=f"{len(got)} bytes, SHA-256 {hashlib.sha256(got).hexdigest()}",
                first_difference=offset, details=tuple(client.log[-10:])))


@probe(SUITE, STOR, weight=2, depends=(PASV, CWD, TYPE_I), timeout=60.0,
       params=(Param("bytes", 5 * 1024 * 1024, "bytes", "size of the file"),))
def stor(ctx: ProbeContext) -> None:
    """After TYPE I, STOR of a {bytes} binary file stores exactly its bytes (same SHA-256) in
    ROOT under its name and replies 226; after CWD into a folder, STOR stores into that folder.

    The probe checks the file system.  Source: docs/labs.md §13 ("STOR");
    RFC 959 §4.1.3 (STOR).
    """
    root = folder(ctx)
    name = _name(ctx, "upload.bin")
    content = binary(ctx.rng, ctx.param_int("bytes"))
    inner = _name(ctx, "inbox")
    make_dir(root / inner)
    note = (_name(ctx, "note.txt"), b"stored in a folder\n" * 20)
    with session(ctx) as client:
        expect(client, "TYPE I", ("200",), what="TYPE I", hint="see session/type-i")
        with guard(client, f"STOR of a {len(content)}-byte file"):
            client.upload(f"STOR {name}", content, wait=max(ctx.reply_timeout, 30.0))
        check_stored(client, root / name, content, what=f"STOR {name}")
        expect(client, f"CWD {inner}", ("250", "200"), what="CWD", hint="see session/cwd")
        with guard(client, f"STOR in /{inner}"):
            client.upload(f"STOR {note[0]}", note[1])
        check_stored(client, root / inner / note[0], note[1], what=f"STOR {note[0]} in /{inner}")


# -- security -----------------------------------------------------------------------------


def _outside(ctx: ProbeContext, before: set[str]) -> list[str]:
    """Paths created beside ROOT since ``before`` (a :func:`tree` of ROOT's parent)."""
    root = folder(ctx)
    created = tree(root.parent) - before
    return sorted(p for p in created if p != root.name and not p.startswith(root.name + "/"))


_TRAVERSAL_HINT = ("resolve every path against the session's folder as the client sees it "
                   "(posixpath.normpath of '/' + cwd + '/' + arg: '..' stops at '/'), then join "
                   "it to ROOT; an absolute path is relative to ROOT, never to the disk's '/'")


@probe(SUITE, "security/cwd-traversal", weight=2, depends=(CWD, STOR), timeout=30.0)
def cwd_traversal(ctx: ProbeContext) -> None:
    """CWD with '..' or an absolute path never leaves ROOT: after each attempt ('..', '../..',
    '../X', '/../X' and the real absolute path of a folder beside ROOT), a STOR lands inside
    ROOT (or is refused).

    The probe checks the file system; the absolute path points into the
    grader's own temporary folder, never at a system folder.  Source:
    docs/labs.md §13 ("Nothing outside ROOT can be read or written").
    """
    root = folder(ctx)
    beside = make_dir(root.parent / _name(ctx, "beside"))
    before = tree(root.parent)
    attempts = ("..", "../..", f"../{beside.name}", f"/../{beside.name}", str(beside))
    with session(ctx) as client:
        for index, target in enumerate(attempts):
            with guard(client, f"CWD {target}"):
                reply = reply_of(client, f"CWD {target}")
            marker = _name(ctx, f"marker-{index}.txt")
            with guard(client, f"STOR after CWD {target} ({reply[:3]})"):
                try:
                    client.upload(f"STOR {marker}", f"after CWD {target}\n".encode())
                except (ftplib.error_perm, ftplib.error_temp) as exc:  # nothing written
                    ctx.log(f"STOR after CWD {target}: refused ({exc.args[0]})")
            escaped = _outside(ctx, before)
            if escaped:
                raise ProbeFailed(
                    f"after CWD {target!r} ({reply!r}), STOR wrote outside ROOT",
                    hint=_TRAVERSAL_HINT,
                    evidence=_evidence(client, expected="every file inside ROOT",
                                       actual="created beside ROOT: " + ", ".join(escaped)))
            expect(client, "CWD /", ("250", "200"), what="CWD / (back to ROOT)",
                   hint="CWD / goes to ROOT")


@probe(SUITE, "security/retr-traversal", weight=2, depends=(RETR,), timeout=30.0)
def retr_traversal(ctx: ProbeContext) -> None:
    """RETR with '..' or an absolute path never reads outside ROOT: a secret file beside ROOT
    never comes back for '../S', '/../S', 'F/../../S' or its real absolute path.

    Source: docs/labs.md §13 ("Nothing outside ROOT can be read or written").
    """
    root = folder(ctx)
    secret = root.parent / _name(ctx, "secret.txt")
    content = make_file(secret, b"secret " + ctx.rng.randbytes(32).hex().encode() + b"\n")
    inner = make_dir(root / _name(ctx, "sub"))
    attempts = (f"../{secret.name}", f"/../{secret.name}", f"{inner.name}/../../{secret.name}",
                str(secret))
    with session(ctx) as client:
        expect(client, "TYPE I", ("200",), what="TYPE I", hint="see session/type-i")
        for target in attempts:
            got = b""
            with guard(client, f"RETR {target}"):
                try:
                    got = client.download(f"RETR {target}")
                except (ftplib.error_perm, ftplib.error_temp) as exc:
                    ctx.log(f"RETR {target}: refused ({exc.args[0]})")
            if content.strip() in got:
                raise ProbeFailed(
                    f"RETR {target!r} sent the secret file that lies outside ROOT",
                    hint=_TRAVERSAL_HINT,
                    evidence=_evidence(client, expected="550 (no such file in ROOT)",
                                       actual=excerpt(got)))


@probe(SUITE, "security/stor-traversal", weight=2, depends=(STOR,), timeout=30.0)
def stor_traversal(ctx: ProbeContext) -> None:
    """STOR with '..' or an absolute path never writes outside ROOT ('../X', '/../X',
    'F/../../X' and a real absolute path beside ROOT); the probe checks the file system.

    Source: docs/labs.md §13 ("Nothing outside ROOT can be read or written").
    """
    root = folder(ctx)
    inner = make_dir(root / _name(ctx, "sub"))
    before = tree(root.parent)
    attempts = (f"../{_name(ctx, 'x1.txt')}", f"/../{_name(ctx, 'x2.txt')}",
                f"{inner.name}/../../{_name(ctx, 'x3.txt')}", str(root.parent / _name(ctx, "x4.txt")))
    with session(ctx) as client:
        for target in attempts:
            with guard(client, f"STOR {target}"):
                try:
                    client.upload(f"STOR {target}", b"must stay inside ROOT\n")
                except (ftplib.error_perm, ftplib.error_temp) as exc:
                    ctx.log(f"STOR {target}: refused ({exc.args[0]})")
            escaped = _outside(ctx, before)
            if escaped:
                raise ProbeFailed(
                    f"STOR {target!r} wrote outside ROOT",
                    hint=_TRAVERSAL_HINT,
                    evidence=_evidence(client, expected="nothing outside ROOT",
                                       actual="created beside ROOT: " + ", ".join(escaped)))


# -- protocol robustness ---------------------------------------------------------------------


@probe(SUITE, "protocol/unknown-command", depends=(PWD,))
def unknown_command(ctx: ProbeContext) -> None:
    """An unknown command gets 500 or 502 and the session goes on (PWD still answers).

    Source: docs/labs.md §13 ("an unknown command gets 500 or 502"); RFC 959 §4.2.1.
    """
    with session(ctx) as client:
        expect(client, "XYZZY plugh", ("500", "502"), what="an unknown command",
               hint="answer a command you do not know with '502 Command not implemented' "
                    "and read the next one (no KeyError, no closed connection)")
        expect_pwd(client, "/", what="PWD after an unknown command")


@probe(SUITE, "partial/split-command", depends=(PWD,))
def split_command(ctx: ProbeContext) -> None:
    """A command that arrives in pieces ('PW' then 'D\\r\\n'; then 'P', 'WD\\r' and '\\n') is
    one command: each time PWD gets 257.

    Each piece is sent once the server has read the one before (TCP_NODELAY;
    the grader watches the server's receive queue), so one recv() never holds
    the whole line.  Source: docs/labs.md §13 ("a command may arrive in
    pieces"); RFC 959 §4.1 (commands end with <CRLF>).
    """
    with session(ctx, conn=ctx.connect(nodelay=True)) as client:
        for pieces, code in (((b"PW", b"D\r\n"), "257"), ((b"P", b"WD\r", b"\n"), "257")):
            line = b"".join(pieces).decode().strip()
            pacer = queues.Pacer(ctx, client.conn)
            for index, piece in enumerate(pieces):
                if index:
                    pacer()
                client.log.append(f"-> {piece!r} (a piece)")
                client.conn.sock.settimeout(max(0.001, ctx.reply_deadline() - time.monotonic()))
                with guard(client, f"sending {line!r} in pieces"):
                    client.conn.sock.sendall(piece)
            with guard(client, f"{line!r} sent in pieces"):
                try:
                    reply = client.getresp()
                except (ftplib.error_perm, ftplib.error_temp) as exc:
                    reply = str(exc.args[0])
            if not reply.startswith(code):
                raise ProbeFailed(
                    f"{line!r} sent in {len(pieces)} pieces got {reply!r}, expected {code}",
                    hint="TCP is a byte stream: collect bytes until '\\r\\n' before parsing a "
                         "command (conn.makefile('rb').readline(), or a buffer), never one "
                         "recv() per command",
                    evidence=_evidence(client, sent=" + ".join(repr(p) for p in pieces),
                                       expected=code, actual=reply))


@probe(SUITE, "shutdown/quit", depends=(LOGIN,))
def quit_closes(ctx: ProbeContext) -> None:
    """QUIT gets 221 and the server then closes the control connection.

    Source: docs/labs.md §13 ("QUIT gets 221"); RFC 959 §4.1.1 (QUIT) and §5.4.
    """
    with session(ctx) as client:
        expect(client, "QUIT", ("221",), what="QUIT",
               hint="answer QUIT with '221 Goodbye' and close the connection")
        client.release()
        result = client.conn.read_to_eof(deadline=ctx.reply_deadline(), cap=4096)
        ctx.log(f"after 221: {len(result.data)} bytes, {result.end.describe()}")
        if not isinstance(result.end, Closed):
            raise ProbeFailed(
                "after 221 the server did not close the control connection",
                hint="after sending 221, leave the session loop and close the client's socket",
                evidence=_evidence(client, expected="EOF (FIN)", actual=excerpt(result.data),
                                   transport=result.end.describe()))


# -- concurrency and robustness --------------------------------------------------------------


@probe(SUITE, "concurrency/two-sessions", weight=2, depends=(CWD, STOR), timeout=30.0)
def two_sessions(ctx: ProbeContext) -> None:
    """Two clients logged in at once each keep their own current folder: after A's CWD L and
    B's CWD R, PWD gives /L to A and /R to B, and each one's STOR lands in its own folder.

    Source: docs/labs.md §13 ("each client has its own session").
    """
    root = folder(ctx)
    left, right = make_dir(root / _name(ctx, "left")), make_dir(root / _name(ctx, "right"))
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(session(ctx))
        try:
            second = stack.enter_context(session(ctx))
        except ProbeFailed as exc:
            raise ProbeFailed(f"a second client was not served while the first was logged in: "
                              f"{exc.reason}",
                              hint="serve each client in its own thread "
                                   "(threading.Thread per accepted connection)",
                              evidence=exc.evidence) from None
        per_session = ("keep the current folder in the session (one object or local variable "
                        "per client), not in a global")
        expect(first, f"CWD {left.name}", ("250", "200"), what="A: CWD", hint="see session/cwd")
        try:
            expect(second, f"CWD {right.name}", ("250", "200"), what="B: CWD",
                   hint="see session/cwd")
            for client, place, label in ((first, left, "A"), (second, right, "B")):
                expect_pwd(client, f"/{place.name}", what=f"{label}: PWD")
        except ProbeFailed as exc:
            raise ProbeFailed(exc.reason + " (the other client's CWD changed it?)",
                              hint=per_session, evidence=exc.evidence) from None
        for client, place, label in ((first, left, "A"), (second, right, "B")):
            name = _name(ctx, f"from-{label}.txt")
            content = f"client {label}\n".encode() * 10
            with guard(client, f"{label}: STOR"):
                client.upload(f"STOR {name}", content)
            try:
                check_stored(client, place / name, content, what=f"{label}: STOR in /{place.name}")
            except ProbeFailed as exc:
                raise ProbeFailed(exc.reason, hint=per_session, evidence=exc.evidence) from None


@probe(SUITE, "robustness/reset-mid-transfer", depends=(RETR,), timeout=30.0,
       params=(Param("bytes", 8 * 1024 * 1024, "bytes", "size of the file being sent"),))
def reset_mid_transfer(ctx: ProbeContext) -> None:
    """A client that resets its data and control connections in the middle of a {bytes} RETR
    leaves the server serving: a new client then logs in and downloads a file.

    Source: docs/labs.md §13 ("a client that goes away mid-transfer"); docs/labs.md §1
    ("dies on a client reset").
    """
    root = folder(ctx)
    name = _name(ctx, "big.bin")
    make_file(root / name, binary(ctx.rng, ctx.param_int("bytes")))
    small = make_file(root / _name(ctx, "small.txt"), b"still serving\n" * 40)
    with session(ctx) as client:
        expect(client, "TYPE I", ("200",), what="TYPE I", hint="see session/type-i")
        with guard(client, f"RETR {name}"):
            data, _ = client.ntransfercmd(f"RETR {name}", rcvbuf=64 * 1024)
            with data:
                data.settimeout(max(0.001, ctx.reply_deadline() - time.monotonic()))
                first = data.recv(BLOCK)
                ctx.log(f"read {len(first)} bytes of the file, then RST on both connections")
                data.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.release()
        client.conn.abort()
    try:
        with session(ctx) as again:
            with guard(again, "RETR after the reset"):
                got = again.download(f"RETR {_name(ctx, 'small.txt')}")
            if got != small:
                raise ProbeFailed("RETR after the reset sent the wrong bytes",
                                  evidence=Evidence(expected=excerpt(small), actual=excerpt(got)))
    except ProbeFailed as exc:
        raise ProbeFailed(f"after a client reset mid-transfer, the next client was not served: "
                          f"{exc.reason}",
                          hint="catch OSError (ConnectionResetError, BrokenPipeError) around the "
                               "transfer, close that session's sockets and keep serving",
                          evidence=exc.evidence) from None


# -- shared robustness and resource probes -------------------------------------------------


def _session(ctx: ProbeContext, conn: Conn, index: int) -> None:
    """One short session for the shared probes: greeting, login, QUIT (any reply)."""
    with session(ctx, conn=conn) as client, guard(client, f"client {index + 1}: QUIT"):
        reply_of(client, "QUIT")


def _opening(ctx: ProbeContext, conn: Conn) -> None:
    """The start of a session cut short: half a USER command."""
    conn.send_all(b"USER stu", deadline=ctx.reply_deadline())


generic.register(generic.ServerLab(suite=SUITE, source=SOURCE, session=_session, opening=_opening,
                                   depends=(LOGIN,), sequential_count=100),
                 which=(generic.CLIENT_RESET, generic.SEQUENTIAL, generic.NO_FD_LEAK,
                        generic.IDLE_CPU, generic.IDLE_CPU_CLIENT))
