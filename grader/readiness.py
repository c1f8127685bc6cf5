"""Readiness: wait until a started server is listening, or explain why it is not.

Theory of operation: readiness is observed, not guessed.  Every 10 ms the
launcher's process tree is inspected (the sockets in ``/proc/PID/fd``,
matched against a sock_diag dump of the listeners and UDP sockets of the
program's network namespace, or ``/proc/PID/net`` where netlink cannot be
asked there) until a socket of the right protocol is bound where the program
was told to bind, the program exits, or the deadline passes — no connection
is made, so a server that serves only one client does not spend it on the
grader's readiness check.  Each failure
is classified for the report: crashed at start (with the stderr tail and a
hint for the usual causes: Python 2 syntax, a missing module, a busy
port), exited early, listens somewhere else (with the address it does use),
or never listened.  A server still starved of CPU at the deadline (runnable, little CPU
used: :class:`grader.launch.base.StarvedWatch`) is waited for as long again; still starved
then, the start is the machine's failure (``launch-error``), not the program's.  A program
is ready only when its main process still runs
after the look that found the socket, so a "daemon" whose orphaned child
listens once the parent has exited is reported as exited, however quickly
the look came.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

from grader.launch.base import Endpoint, Program, StarvedWatch, bound_endpoints, serves
from grader.launch.quiet import diag_socket
from grader.verdict import Evidence

#: How often the process tree is inspected while waiting, in seconds.
POLL_INTERVAL = 0.01
#: How long a program seen bound only elsewhere gets to bind the right port, in seconds.
WRONG_PORT_GRACE = 0.5


@dataclass(frozen=True, kw_only=True)
class StartResult:
    """How a start went: ``status`` is ready, crashed, exited, wrong-port or not-listening.

    ``elapsed`` is in seconds; ``endpoints`` are the sockets seen bound.
    """

    status: str
    elapsed: float
    reason: str = ""
    hint: str = ""
    evidence: Evidence = field(default_factory=Evidence)
    endpoints: tuple[Endpoint, ...] = ()
    #: How the start went beyond its status, for the transcript ("" when there is nothing to say).
    note: str = ""

    @property
    def ready(self) -> bool:
        """True when the program is serving where it was told to."""
        return self.status == "ready"


def stderr_tail(program: Program, *, lines: int = 12) -> str:
    """The last ``lines`` lines of the program's stderr, decoded leniently."""
    text = program.output().stderr.decode("utf-8", "replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


def crash_hint(stderr: str) -> str:
    """A hint naming the likely cause of a crash, from its stderr text."""
    if "SyntaxError" in stderr and ("null bytes" in stderr or "\\x7f" in stderr
                                    or "Non-UTF-8 code" in stderr):
        return ("this is a compiled program, not Python source: grade the executable as a "
                "command, e.g. sockgrade check LAB -- ./server {host} {port}")
    if "SyntaxError" in stderr and any(f'{ext}", line' in stderr for ext in (".c", ".cpp", ".cc")):
        return ("this is C/C++ source, run as Python: compile it, then grade the executable "
                "as a command, e.g. sockgrade check LAB -- ./server {host} {port}")
    if "SyntaxError" in stderr and ("print " in stderr or "Missing parentheses" in stderr):
        return "this looks like Python 2 code (print statement): port it to Python 3"
    if "SyntaxError" in stderr:
        return "the program does not compile: fix the SyntaxError shown"
    if "ModuleNotFoundError" in stderr or "ImportError" in stderr:
        return "a module it imports is missing (Python 2 module names like SocketServer?)"
    if "Address already in use" in stderr:
        return "the port was busy: set SO_REUSEADDR before bind(), and bind the port from argv"
    if "IndexError" in stderr and "argv" in stderr:
        return "it reads more command-line arguments than it is given (host, port)"
    if "MemoryError" in stderr:
        return "it ran out of memory at start"
    if "UnicodeDecodeError" in stderr:
        return "it decodes bytes as text (.decode()): keep the data as bytes"
    if "load_cert_chain" in stderr or "PEM lib" in stderr:
        return ("the certificate or its key could not be loaded: pass both files from the "
                "command line, context.load_cert_chain(certfile, keyfile)")
    if "PROTOCOL_TLS_CLIENT" in stderr or "check_hostname requires server_hostname" in stderr:
        return ("a client's TLS context cannot serve: a server's is "
                "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)")
    return "read the traceback above: the program crashed before it listened"


def wait_ready(
    program: Program, *, proto: str, host: str, port: int, timeout: float
) -> StartResult:
    """Wait up to ``timeout`` seconds for ``program`` to bind ``proto`` on ``host:port``.

    ``proto`` is "tcp" (a listening socket) or "udp" (a bound datagram socket).
    Never raises for the submission's faults: they come back classified.
    """
    started = time.monotonic()
    deadline = started + timeout
    diag = diag_socket(program)  # the dumps are asked in the program's network namespace
    try:
        return _wait(program, proto=proto, host=host, port=port, started=started,
                     deadline=deadline, diag=diag)
    finally:
        if diag is not None:
            diag.close()


def _wait(program: Program, *, proto: str, host: str, port: int, started: float,
          deadline: float, diag: socket.socket | None) -> StartResult:
    wrong_since: float | None = None
    seen: list[Endpoint] = []
    watch: StarvedWatch | None = None
    grace_until = deadline + (deadline - started)
    while True:
        now = time.monotonic()
        status = program.poll()
        if status is not None:
            tail = stderr_tail(program)
            evidence = Evidence(
                expected=f"a {proto.upper()} socket on {host}:{port}",
                actual=f"the program exited with status {status}",
                details=(f"stderr (tail):\n{tail}",) if tail else (),
            )
            if status != 0:
                return StartResult(
                    status="crashed", elapsed=now - started, evidence=evidence,
                    reason=f"crashed at start (exit status {status})", hint=crash_hint(tail),
                )
            return StartResult(
                status="exited", elapsed=now - started, evidence=evidence,
                reason="exited with status 0 before serving",
                hint="a server must keep running and serve client after client: loop on accept()",
            )
        seen = bound_endpoints(program.pids(), diag)
        if any(serves(e, proto=proto, host=host, port=port) for e in seen):
            if program.poll() is None:  # still running after the look, so it is what serves
                note = "" if watch is None or watch.first_starved is None else (
                    f"starved of CPU at the {deadline - started:g} s startup deadline (it was "
                    f"{watch.first_starved}): waited for it while it stayed so")
                return StartResult(status="ready", elapsed=now - started, endpoints=tuple(seen),
                                   note=note)
            continue  # it exited meanwhile (a child of its serves?): the next turn says how
        if any(e.proto == proto for e in seen):
            wrong_since = wrong_since if wrong_since is not None else now
            if now - wrong_since >= WRONG_PORT_GRACE:
                break
        if now >= deadline:  # a server starved of CPU gets as long again (docs/labs.md)
            watch = watch or StarvedWatch(program.pids)
            why = watch.look()
            if why is None or (now >= grace_until and watch.first_starved is None):
                break
            if now >= grace_until:
                return StartResult(
                    status="launch-error", elapsed=now - started,
                    reason=(f"the server was still starved of CPU {now - started:.1f} s after its "
                            f"start ({why}): the machine is too loaded to grade it; grade it "
                            f"again on a quieter machine"))
        time.sleep(POLL_INTERVAL)  # polls the real condition; the deadline bounds it
    ours = [e for e in seen if e.proto == proto]
    if ours:
        where = ", ".join(f"{e.host}:{e.port}" for e in ours)
        other_port = next((e.port for e in ours if e.port != port), None)
        hint = "take the host and port from the command line: sys.argv[1] and int(sys.argv[2])"
        if other_port is not None:
            hint += f" (or grade it with --port {other_port} if the port is fixed by the handout)"
        return StartResult(
            status="wrong-port", elapsed=time.monotonic() - started, endpoints=tuple(ours),
            reason=f"listens on {where}, not on {host}:{port} as it was told",
            hint=hint,
            evidence=Evidence(expected=f"{proto.upper()} {host}:{port}", actual=f"{proto.upper()} {where}"),
        )
    out = program.output()
    details = []
    if out.stdout:
        details.append("stdout (head):\n" + out.stdout[:400].decode("utf-8", "replace"))
    if out.stderr:
        details.append("stderr (tail):\n" + stderr_tail(program))
    return StartResult(
        status="not-listening", elapsed=time.monotonic() - started,
        reason=f"did not listen on {host}:{port} within {deadline - started:g} s",
        hint="call bind() and listen() at start; does it wait for input on stdin first?",
        evidence=Evidence(expected=f"a {proto.upper()} socket on {host}:{port}",
                          actual="no socket bound", details=tuple(details)),
    )
