"""The probe context: everything one probe may use, and what it must clean up.

Theory of operation: the runner builds one :class:`ProbeContext` per probe
run.  It carries the assignment, the probe's configuration, a random
generator seeded from the run's seed and the probe id (so ``--seed``
replays every split point and payload), the probe's deadline, and the
program under test: a running server (its address and process
observations) or, for client labs, a way to start the client against a
listener the probe owns.  Every socket and program the probe opens through
the context is closed when the probe ends, and every folder it made is
removed, whatever happened, so a probe that overruns its time limit can be
unblocked from outside.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from grader import net, tls
from grader.launch.base import (
    PROGRAM_SPENT_CPU,
    SPENT_CPU,
    BusyWatch,
    Launcher,
    LaunchSpec,
    Output,
    ProcessStats,
    Program,
    SocketMaker,
    StarvedWatch,
    describe_state,
    process_stats,
)
from grader.probes.registry import ParamValue
from grader.readiness import StartResult
from grader.submission import Submission, argv
from grader.verdict import Evidence, ProbeError, ProbeFailed

if TYPE_CHECKING:  # the assignment model sits above the probes that this context serves
    from grader.assignment import Assignment, ProbeConfig


T = TypeVar("T")

#: Seconds between two looks at a client that may be starved of CPU while it is given more
#: time (:meth:`ProbeContext.while_starved`): ``/proc`` gives no event to wait on.
STARVED_LOOK = 0.05

#: Seconds a refused connect waits for the server's process to finish exiting (so the hint names why).
EXIT_GRACE = 0.5
#: The hint for a server that exited with status 0: it served one client and stopped.
EXITED_AFTER_SERVING = ("the server exited by itself after serving: a server loops on accept() and "
                        "serves client after client")

@dataclass(frozen=True, kw_only=True)
class ClientRun:
    """How a client submission ended: exit ``status`` (None: killed at the deadline), output."""

    status: int | None
    output: Output
    elapsed: float

    @property
    def stdout(self) -> bytes:
        """Captured standard output (capped)."""
        return self.output.stdout

    @property
    def stderr(self) -> bytes:
        """Captured standard error (capped)."""
        return self.output.stderr


def _is_stopped(pid: int) -> bool:
    """True when ``pid`` is stopped or gone (``/proc/PID/stat`` state T, t, Z or missing)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in (b"T", b"t", b"Z", b"X")


class ProbeContext:
    """What a probe gets.  Times are seconds; ``deadline`` is on ``time.monotonic()``."""

    def __init__(
        self,
        *,
        assignment: Assignment,
        config: ProbeConfig,
        seed: int,
        launcher: Launcher,
        submission: Submission,
        python: str,
        entry_path: str | None,
        extra: Sequence[str],
        program: Program | None = None,
        port: int | None = None,
        start: StartResult | None = None,
        scratch: Path | None = None,
        credentials: tls.Credentials | None = None,
        group: str | None = None,
    ) -> None:
        self.assignment = assignment
        self.config = config
        self.seed = seed
        self.rng = random.Random(f"{seed}:{config.id}")
        self.launcher = launcher
        self.submission = submission
        self.program = program
        self.port = port
        self.start = start
        #: The program instance's own fresh folder (``{scratch}`` in its command), as a
        #: path on the grader's machine; None when the command does not use one.  Its
        #: parent is grader-owned and holds nothing else (docs/labs.md §10).
        self.scratch = scratch
        #: The throw-away CA and server certificate of a TLS lab (``{cert}``/``{key}`` in its
        #: command, docs/labs.md §12); None when the command uses neither.
        self.credentials = credentials
        #: The grading the programs this probe starts belong to (LaunchSpec.group).
        self.group = group
        self.reply_timeout = assignment.timeouts.reply
        self.deadline = time.monotonic() + config.timeout
        self._python = python
        self._entry_path = entry_path
        self._extra = tuple(extra)
        self._transcript: list[str] = []
        self._conns: list[net.Conn] = []
        self._sockets: list[socket.socket] = []
        self._programs: list[Program] = []
        self._folders: list[Path] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    # -- data ------------------------------------------------------------

    def param(self, name: str) -> ParamValue:
        """The value in force of the probe's declared parameter ``name``.

        Raises KeyError when the probe declares no such parameter (a grader bug).
        """
        return self.config.params[name]

    def param_int(self, name: str) -> int:
        """:meth:`param` for an integer parameter (bytes, counts)."""
        value = self.param(name)
        assert isinstance(value, int) and not isinstance(value, bool), name
        return value

    def param_float(self, name: str) -> float:
        """:meth:`param` for a number parameter (seconds, shares)."""
        value = self.param(name)
        assert isinstance(value, int | float) and not isinstance(value, bool), name
        return float(value)

    def param_bool(self, name: str) -> bool:
        """:meth:`param` for a boolean parameter."""
        value = self.param(name)
        assert isinstance(value, bool), name
        return value

    def param_ints(self, name: str) -> tuple[int, ...]:
        """:meth:`param` for an array-of-integers parameter."""
        value = self.param(name)
        assert isinstance(value, tuple), name
        return value

    @property
    def protocol(self) -> Mapping[str, Any]:
        """The assignment's ``[protocol]`` table."""
        return self.assignment.protocol

    @property
    def extra(self) -> tuple[str, ...]:
        """The extra argv words the program is started with (the assignment's or ``--extra``)."""
        return self._extra

    def log(self, text: str) -> None:
        """Add a step to the transcript (shown with ``--verbose``)."""
        self._transcript.append(f"{time.monotonic() - self._t0:7.3f}s {text}")

    @property
    def transcript(self) -> tuple[str, ...]:
        """The steps logged so far."""
        return tuple(self._transcript)

    def reply_deadline(self, seconds: float | None = None) -> float:
        """A deadline ``seconds`` (default: the assignment's reply timeout) from now,
        never later than the probe's own deadline."""
        wait = self.reply_timeout if seconds is None else seconds
        return min(self.deadline, time.monotonic() + wait)

    # -- server submissions ---------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """Where the server under test is reached; ProbeError for a client lab."""
        if self.program is None or self.port is None:
            raise ProbeError("this probe needs a running server, but none was started")
        return self.program.address(self.port)

    def opener(self, family: int, kind: int) -> socket.socket:
        """A new socket from which the server under test is reached (its namespace, if own)."""
        if self.program is None:
            raise ProbeError("this probe needs a running server, but none was started")
        try:
            return self.program.socket(family, kind)
        except OSError as exc:
            raise ProbeError(f"cannot make a socket to reach the server: {exc}") from None

    @property
    def speaks_tls(self) -> bool:
        """True when the lab's clients talk TLS (``[protocol] transport = "tls"``, docs/labs.md §12)."""
        return str(self.protocol.get("transport", "tcp")) == "tls"

    def connect(
        self, *, nodelay: bool = False, timeout: float | None = None, rcvbuf: int | None = None,
        tls_layer: bool | None = None,
    ) -> net.Conn:
        """Connect to the server under test; tracked, closed when the probe ends.

        ``tls_layer`` (default: :attr:`speaks_tls`) makes it a TLS connection
        (:class:`grader.tls.TlsConn`), handshaken as a client that trusts only the
        grader's CA (:meth:`tls_handshake`); False gives plain TCP.  Raises
        :class:`ProbeFailed` with evidence when the server refuses, does not
        accept in time, or fails the handshake.
        """
        host, port = self.address
        try:
            conn = net.connect(host, port, timeout=timeout or self.reply_timeout, nodelay=nodelay,
                               rcvbuf=rcvbuf, opener=self.opener)
        except net.ConnectFailed as exc:
            # A refusal often means the server is on its way out (its listening socket is
            # closed before the process is gone): give it a moment, so the hint names why.
            status = None if self.program is None else self.program.wait(EXIT_GRACE)
            if status is None:
                hint = "the server stopped accepting connections"
            elif status == 0:
                hint = EXITED_AFTER_SERVING
            else:
                hint = f"the server is no longer running (it exited with status {status})"
            raise ProbeFailed(f"could not connect to {host}:{port}", hint=hint,
                              evidence=Evidence(transport=exc.event.describe())) from None
        conn.patience = self.owed_time
        with self._lock:
            self._conns.append(conn)
        if tls_layer if tls_layer is not None else self.speaks_tls:
            conn = self.tls_handshake(conn, timeout=timeout)
        return conn

    def tls_handshake(self, conn: net.Conn, *, timeout: float | None = None,
                      context: ssl.SSLContext | None = None) -> tls.TlsConn:
        """Run a client TLS handshake on the plain ``conn``; the TLS connection is tracked.

        ``context`` defaults to :meth:`grader.tls.Credentials.client_context`
        (trusts only the grader's CA; host name ``localhost``, docs/labs.md §12).
        Raises :class:`ProbeFailed` naming OpenSSL's reason when the handshake
        fails, :class:`ProbeError` when the lab has no credentials.
        """
        if self.credentials is None:
            raise ProbeError("this lab speaks TLS, but its command has no {cert} and {key}: "
                             "the grader made no certificate to hand the server")
        deadline = self.reply_deadline(timeout)
        try:
            secure = tls.handshake(conn.sock, context or self.credentials.client_context(),
                                   server_hostname="localhost", deadline=deadline)
            conn.detach()  # the TLS connection owns the socket now
        except tls.HandshakeFailed as exc:
            raise ProbeFailed(f"the TLS handshake failed: {exc.reason}",
                              hint=handshake_hint(exc),
                              evidence=Evidence(details=(
                                  f"sent {exc.sent} bytes (a TLS ClientHello for 'localhost')",
                                  f"received {len(exc.received)} bytes: {exc.received[:48]!r}",
                              ))) from None
        self.log(f"TLS handshake: {secure.version}, {secure.cipher}")
        secure.patience = self.owed_time
        with self._lock:
            self._conns.append(secure)
        return secure

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """The server's processes stopped (SIGSTOP) for the block and continued (SIGCONT) after.

        Lets a probe place a network event between two of the server's system
        calls whatever the machine's speed: data and a reset sent while the
        server is stopped are both waiting for it when it runs again (the
        kernel acknowledges and queues them meanwhile).  Raises ProbeError
        when the processes cannot be stopped within 2 s.
        """
        if self.program is None:
            raise ProbeError("this probe needs a running server, but none was started")
        stopped: list[int] = []
        try:
            for pid in self.program.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
            deadline = time.monotonic() + 2.0
            while not all(_is_stopped(pid) for pid in stopped):
                if time.monotonic() > deadline:
                    raise ProbeError("the server's processes could not be stopped (SIGSTOP)")
                time.sleep(0.001)  # polls the real condition (/proc state); bounded
            self.log(f"server stopped (SIGSTOP, {len(stopped)} process(es))")
            yield
        finally:
            for pid in stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            if stopped:
                self.log("server continued (SIGCONT)")

    def stats(self) -> ProcessStats:
        """Process-tree observations of the server; ProbeError when unavailable."""
        if self.program is None:
            raise ProbeError("no program to observe")
        stats = process_stats(self.program.pids())
        if stats is None:
            raise ProbeFailed(
                "the server is no longer running",
                hint="it exited or crashed during the probe",
                evidence=Evidence(actual=f"exit status {self.program.poll()}"),
            )
        return stats

    # -- client submissions ---------------------------------------------

    def listen(self, *, backlog: int = 16) -> socket.socket:
        """A listening TCP socket for a client submission to connect to; tracked."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.launcher.listen_host, 0))
        sock.listen(backlog)
        with self._lock:
            self._sockets.append(sock)
        return sock

    def bind_udp(self) -> socket.socket:
        """A datagram socket bound on the listen address (a free port), for a UDP client
        submission to send to; tracked, closed when the probe ends."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.launcher.listen_host, 0))
        except OSError:
            sock.close()
            raise
        with self._lock:
            self._sockets.append(sock)
        return sock

    def accept(self, listener: socket.socket, *, deadline: float) -> net.Conn | None:
        """Accept one connection on ``listener`` before ``deadline``; None on timeout."""
        listener.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            return None
        conn = net.Conn(sock)
        conn.patience = self.owed_time
        with self._lock:
            self._conns.append(conn)
        return conn

    def track(self, sock: socket.socket) -> socket.socket:
        """Close ``sock`` when the probe ends (a socket made outside :meth:`listen`)."""
        with self._lock:
            self._sockets.append(sock)
        return sock

    def new_folder(self) -> Path:
        """A fresh, empty grader-owned folder for this probe's files; removed when the probe ends.

        A client started afterwards with :meth:`start_client` can read and write
        it at this same absolute path (a container launcher mounts it), so a
        probe can hand a client a file to upload (docs/labs.md §17).
        """
        folder = Path(tempfile.mkdtemp(prefix="sockgrade-files-"))
        with self._lock:
            self._folders.append(folder)
        return folder

    def start_client(
        self,
        *,
        port: int | None = None,
        message: str = "",
        extra: Sequence[str] = (),
        values: Mapping[str, str] | None = None,
        network: Callable[[SocketMaker], None] | None = None,
    ) -> Program:
        """Start the client submission; tracked.

        Its command's ``{host}`` is the launcher's client host and ``{port}``
        the grader listener's ``port`` (the program may connect to it, and under
        Docker to nothing else); ``values`` add placeholders or replace those.
        With ``network``, the program gets a network of its own where the
        launcher can give one (else it shares the grader's), and ``network`` is
        called with a socket maker for it before the program starts
        (:attr:`grader.launch.base.LaunchSpec.prepare`).  Every folder made by
        :meth:`new_folder` so far is made reachable to it.
        """
        table = {"message": message}
        if port is not None:
            table["port"] = str(port)
        if values is None or "host" not in values:
            table["host"] = self.launcher.client_host
        table.update(values or {})
        words = argv(
            self.submission, self.assignment, python=self._python, entry_path=self._entry_path,
            values=table, extra=tuple(extra) or self._extra,
        )
        self.log(f"start client: {' '.join(words)}")
        with self._lock:
            writable = tuple(self._folders)
        program = self.launcher.start(
            LaunchSpec(argv=words, cwd=self.submission.folder, limits=self.assignment.limits,
                       grader_ports=() if port is None else (port,), writable=writable,
                       own_network=network is not None, prepare=network, group=self.group)
        )
        with self._lock:
            self._programs.append(program)
        return program

    def finish_client(self, program: Program, *, timeout: float | None = None,
                      starved_grace: bool = False) -> ClientRun:
        """Wait for a client to exit (kill it at the deadline) and collect its output.

        ``timeout`` (seconds; default: until the probe's deadline) is how long it may run.
        With ``starved_grace`` (where that time is what the client is given to finish, not a
        moment to stop it at), a client starved of CPU then is waited for longer
        (:meth:`while_starved`; ProbeError when it stays starved).
        """
        started = time.monotonic()
        wait = self.deadline - started if timeout is None else timeout
        status = program.wait(max(0.0, wait))
        if status is None and starved_grace:
            status = self.while_starved(program, waited=wait, what="still running",
                                        attempt=lambda until: program.wait(
                                            max(0.0, until - time.monotonic())))
        if status is None:
            self.log(f"client still running at the deadline ({describe_state(program.pids())}): "
                     "killed")
        program.stop()
        return ClientRun(status=status, output=program.output(), elapsed=time.monotonic() - started)

    def while_starved(self, program: Program, *, waited: float, what: str,
                      attempt: Callable[[float], T | None]) -> T | None:
        """Give a client more time when a wait for it (``waited`` seconds, over now, in which
        ``what`` happened: "no connection") may have found it starved of CPU.

        While :class:`grader.launch.base.StarvedWatch` finds it starved (alive, not blocked,
        under half a CPU second used; a moment's block does not count), ``attempt(until)`` is
        called with deadlines :data:`STARVED_LOOK` seconds apart until it returns a value, up to
        ``waited`` seconds more and never past the probe's deadline; the transcript says why.

        Returns that value; or None once the client has exited, has spent its CPU allowance,
        or stays blocked: the caller judges it as before.  Raises ProbeError when it is still
        starved at the end: a machine too loaded to run it is not the program's fault, and an
        ``error`` costs no points, where failing it would make the verdict depend on the load
        (docs/labs.md, "Starting programs").
        """
        began = time.monotonic()
        until = min(self.deadline, began + waited)
        watch = StarvedWatch(program.pids)
        logged = False
        while (why := watch.look()) is not None:
            if watch.first_starved is not None and not logged:
                logged = True
                self.log(f"{what} after {waited:g} s, but the client was {watch.first_starved}: "
                         f"starved of CPU, not stuck; waiting up to {until - time.monotonic():.1f} "
                         f"s more while it stays so")
            value = attempt(min(until, time.monotonic() + STARVED_LOOK))
            if value is not None:
                if logged:
                    self.log(f"the client got on {time.monotonic() - began:.2f} s later")
                return value
            if time.monotonic() >= until:
                if watch.first_starved is None:
                    return None
                raise ProbeError(f"the client was still starved of CPU after a {waited:g} s "
                                 f"wait and {time.monotonic() - began:.1f} s more ({why}): the "
                                 f"machine is too loaded to grade it; grade it again on a "
                                 f"quieter machine")
        # one last look: it may have exited (or connected) since the attempt before
        value = attempt(time.monotonic())
        if logged:
            later = time.monotonic() - began
            self.log(f"the client got on {later:.2f} s later" if value is not None else
                     f"the client is no longer starved {later:.2f} s later: "
                     f"{describe_state(program.pids())}")
        return value

    def _program_pids(self) -> list[int]:
        """The live pids of the server under test and of every program this probe started."""
        with self._lock:
            programs = list(self._programs)
        if self.program is not None:
            programs.append(self.program)
        return [pid for program in programs for pid in program.pids()]

    def owed_time(self) -> Callable[[], bool]:
        """Made when a read's deadline passes (:attr:`grader.net.Conn.patience`): a function
        that says, at each look, whether the programs (the server under test, the clients
        this probe started) still owe the read a chance: a thread of theirs runnable that has
        not yet had :data:`grader.launch.base.SPENT_CPU` CPU seconds since the deadline, while
        their threads together have not had :data:`grader.launch.base.PROGRAM_SPENT_CPU`
        (:attr:`grader.launch.base.BusyLook.starved`).

        A deadline judges a program that had the CPU to meet it: one blocked waiting for an
        event has had its chance, and so has a busy loop that spent its tenth of a CPU
        second; one starved of CPU on a loaded machine has not, and is given up to another
        reply timeout (never past the probe's deadline), the transcript saying why.  Still
        owed after all of it: :class:`ProbeError` (the machine's fault, no points lost).  Cut
        short by the probe's deadline: False (the read ends, judged as before).
        Source: docs/labs.md ("Starting programs": a program starved of CPU is not failed).
        """
        began = time.monotonic()
        until = min(self.deadline, began + self.reply_timeout)
        whole = until - began >= self.reply_timeout
        watch = BusyWatch(self._program_pids)
        last: bool | None = None  # what the last look found: owed time or not (None: no look)

        def owed() -> bool:
            nonlocal last
            look = watch.look()
            now_owed = look.starved
            if now_owed and last is None:
                self.log(f"a read's deadline passed with the program "
                         f"{describe_state(self._program_pids())}: it has not had the CPU since "
                         f"(starved, or at work), so the read goes on up to "
                         f"{until - began:.1f} s more while it stays so")
            elif not now_owed and last:
                self.log(f"{time.monotonic() - began:.2f} s after the deadline the program had "
                         f"had the CPU ({look.spent:.2f} CPU s since): "
                         f"{describe_state(self._program_pids())}")
            last = now_owed
            if not now_owed:
                return False
            if time.monotonic() < until:
                return True
            if whole:
                state = describe_state(self._program_pids())
                raise ProbeError(
                    f"the program was still runnable {until - began:.1f} s after a read's "
                    f"deadline without having had {SPENT_CPU:g} CPU s a thread or "
                    f"{PROGRAM_SPENT_CPU:g} CPU s in all ({state}): starved of "
                    f"CPU, the machine is too loaded to grade it; grade it again on a quieter "
                    f"machine")
            return False

        return owed

    # -- cleanup ---------------------------------------------------------

    def close_all(self) -> None:
        """Close every tracked socket, stop every tracked program, remove every folder made
        by :meth:`new_folder`; idempotent."""
        with self._lock:
            conns, self._conns = self._conns, []
            sockets, self._sockets = self._sockets, []
            programs, self._programs = self._programs, []
            folders, self._folders = self._folders, []
        for conn in conns:
            conn.close()
        for sock in sockets:
            sock.close()
        for program in programs:
            program.stop()
        for folder in folders:  # after the programs that may use them have stopped
            shutil.rmtree(folder, ignore_errors=True)


def handshake_hint(failure: tls.HandshakeFailed) -> str:
    """The likely bug behind a failed client handshake (docs/labs.md §12)."""
    received = failure.received
    if failure.kind == "verify":
        return ("the server did not present the certificate it was given: load the files from "
                "the command line with context.load_cert_chain(cert, key); do not make your own")
    if failure.echoed:
        return ("the server sent the client's own ClientHello back: it echoes plain TCP. Wrap "
                "each accepted socket with context.wrap_socket(conn, server_side=True)")
    if received[:1] and received[:1] not in (b"\x15", b"\x16"):
        return ("the server answered in plain bytes, not TLS: wrap each accepted socket with "
                "context.wrap_socket(conn, server_side=True) before reading")
    if failure.kind == "timeout":
        return ("the server never answered the ClientHello: wrap each accepted socket with "
                "context.wrap_socket(conn, server_side=True), which runs the handshake")
    if failure.kind in ("closed", "reset"):
        return ("the server closed the connection during the handshake: a server context is "
                "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) with load_cert_chain(cert, "
                "key); see the server's stderr")
    return ("the server's TLS setup is refused by a standard client: use "
            "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) and load_cert_chain(cert, key)")
