"""Probes for TCP port scanners (family ``port-scan``, lab suite ``port-scanner``; docs/labs.md §18).

Theory of operation: the grader owns every port of the range it asks the
scanner to scan.  Each probe draws a *field* from the probe's seeded random
generator: a range FIRST..LAST and, in it, the ports that are open (a
listener), silent (a listener whose accept queue is already full, so the
kernel drops every SYN: the scanner's connect gets no answer at all, as from
a firewall that drops packets; no root needed) and closed (nothing there,
the kernel answers RST).  The listeners are made in the scanner's own
network before it starts (:attr:`grader.launch.base.LaunchSpec.prepare`):

* with a network namespace of its own (local runs as root, and every Docker
  run), the field is alone on that namespace's loopback and may start
  anywhere below the ephemeral range (ports under 1024 included);
* otherwise (local runs without root) the scanner shares the grader's
  loopback: the field is drawn from :data:`SHARED_PORTS` (below the range
  grader-started servers use and below the ephemeral range), reserved
  against other gradings on this machine with one lock file per block of
  :data:`BLOCK` ports, checked unused before the scan and free of any other
  listener after it (a machine fault, never the student's).

Fields stay below the ephemeral range in every mode, so no connect of the
scanner's is ever handed a local port inside the field (a connect from port
P to port P of the same host connects to itself: a closed port would look
open).  The scanner is started as ``{entry} {host} {first} {last}``; its
stdout must hold one ``port N: OPEN`` line per open port and nothing else.

Each probe starts a scanner of its own on a field of its own, so the two
probes that wait on silent ports (up to their 15 s and 30 s bounds for a
scanner without timeouts) run in lanes of their own, beside the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import selectors
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader import net
from grader.context import ClientRun, ProbeContext
from grader.launch import portuse
from grader.launch.base import Program, SocketMaker, process_stats, waiting
from grader.probes.giving_up import Hints, judge_gave_up
from grader.probes.registry import REGISTRY, Param
from grader.verdict import Evidence, ProbeError, ProbeFailed, excerpt

SUITE = "port-scan"
BASIC = "scan/open-ports"
probe = REGISTRY.probe

#: Where fields are drawn from on a shared loopback: under net.SERVER_PORTS (servers other
#: gradings start) and the ephemeral range.
SHARED_PORTS = (2000, net.SERVER_PORTS[0])
#: Ports per reservation lock on a shared loopback.
BLOCK = 100
#: Fields tried on a shared loopback before the probe gives up (a busy machine: grader error).
SHARED_ATTEMPTS = 32
#: The lowest port a field in a namespace of its own may use (port 0 is not a port).
PRIVATE_FLOOR = 1
#: A name no resolver resolves (RFC 6761 reserves .invalid).
UNRESOLVABLE = "no-such-host.invalid"
_LINE = re.compile(r"port (\d+): OPEN")


@dataclass(frozen=True, kw_only=True)
class Field:
    """The ports of one scan: ``first``..``last`` inclusive; ``open`` and ``silent`` within."""

    first: int
    last: int
    open: frozenset[int]
    silent: frozenset[int] = frozenset()

    @property
    def size(self) -> int:
        """How many ports the range holds."""
        return self.last - self.first + 1

    def describe(self) -> str:
        """The field in words, for the transcript."""
        return (f"ports {self.first}-{self.last}: open {sorted(self.open)}, "
                f"{len(self.silent)} silent, {self.size - len(self.open) - len(self.silent)} closed")


def _ephemeral_floor() -> int:
    return min(net.ephemeral_range()[0], 32768)


@dataclass
class _Targets:
    """The listeners of a field, made by :meth:`__call__` in the scanner's network."""

    ctx: ProbeContext
    layout: Field
    private: bool
    listeners: dict[int, socket.socket] = field(default_factory=dict)

    def _listener(self, make: SocketMaker, port: int, backlog: int) -> socket.socket:
        sock: socket.socket | None = None
        if self.private:  # dual stack: "localhost" as ::1 or 127.0.0.1 finds the port
            with contextlib.suppress(OSError):
                sock = self.ctx.track(make(socket.AF_INET6, socket.SOCK_STREAM))
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                sock.bind(("::", port))
        if sock is None or sock.getsockname()[1] != port:
            sock = self.ctx.track(make(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind(("0.0.0.0" if self.private else "127.0.0.1", port))
            except OSError as exc:
                raise ProbeError(f"cannot listen on port {port} of the scanned range: {exc}; "
                                 f"another program took it") from None
        sock.listen(backlog)
        return sock

    def __call__(self, make: SocketMaker) -> None:
        """Open ports listen; silent ports listen with backlog 0 and get one connection that
        fills the accept queue, so every later SYN is dropped (never answered)."""
        for port in sorted(self.layout.open):
            self.listeners[port] = self._listener(make, port, 128)
        for port in sorted(self.layout.silent):
            self._listener(make, port, 0)
            filler = self.ctx.track(make(socket.AF_INET, socket.SOCK_STREAM))
            filler.settimeout(5.0)
            try:
                filler.connect(("127.0.0.1", port))
            except OSError as exc:
                raise ProbeError(f"cannot fill the accept queue of silent port {port}: "
                                 f"{exc}") from None


@contextlib.contextmanager
def _reserved(ctx: ProbeContext, size: int) -> Iterator[int]:
    """A first port whose ``size`` ports are locked for this probe on the shared loopback and
    unused right now; ProbeError when the machine has no such range."""
    low, high = SHARED_PORTS
    high = min(high, _ephemeral_floor())
    if high - low < size:
        raise ProbeError(f"no {size}-port range fits below the ephemeral range here")
    folder = Path(tempfile.gettempdir()) / "sockgrade-port-fields"
    folder.mkdir(mode=0o1777, exist_ok=True)
    for _ in range(SHARED_ATTEMPTS):
        first = ctx.rng.randrange(low, high - size)
        held: list[int] = []
        try:
            for block in range(first // BLOCK, (first + size - 1) // BLOCK + 1):
                fd = os.open(folder / f"{block}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
                held.append(fd)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            usable = not portuse.tcp_ports_in_use(first, first + size - 1)
        except BlockingIOError:  # another grading holds part of it: draw another range
            usable = False
        try:
            if usable:
                yield first
                return
        finally:
            for fd in held:
                os.close(fd)
    raise ProbeError(f"found no unused {size}-port range in {SHARED_ATTEMPTS} tries "
                     f"(a busy machine)")


def _draw(ctx: ProbeContext, first: int, size: int, n_open: int, n_silent: int, *,
          ends_open: bool, silent_on_top: bool) -> Field:
    last = first + size - 1
    ports = list(range(first + 1, last))  # the two ends are open only when asked
    if silent_on_top:
        silent = set(range(last - n_silent + 1, last + 1))
        ports = [p for p in ports if p not in silent]
    else:
        silent = set(ctx.rng.sample(ports, n_silent))
        ports = [p for p in ports if p not in silent]
    chosen = set(ctx.rng.sample(ports, n_open - (2 if ends_open else 0)))
    if ends_open:
        chosen |= {first, last}
    return Field(first=first, last=last, open=frozenset(chosen), silent=frozenset(silent))


@contextlib.contextmanager
def _field(ctx: ProbeContext, size: int, n_open: int, n_silent: int = 0, *,
           ends_open: bool = False, silent_on_top: bool = False) -> Iterator[tuple[Field, bool]]:
    """A seeded field and whether the scanner gets a network of its own (see the module
    docstring); on a shared loopback the range stays reserved for the block."""
    if n_open + n_silent + 2 > size:
        raise ProbeError(f"a {size}-port range cannot hold {n_open} open and {n_silent} "
                         f"silent ports")
    if ctx.launcher.isolated_network:
        first = ctx.rng.randrange(PRIVATE_FLOOR, _ephemeral_floor() - size)
        yield _draw(ctx, first, size, n_open, n_silent, ends_open=ends_open,
                    silent_on_top=silent_on_top), True
        return
    with _reserved(ctx, size) as first:
        made = _draw(ctx, first, size, n_open, n_silent, ends_open=ends_open,
                     silent_on_top=silent_on_top)
        yield made, False
        others = portuse.tcp_ports_in_use(made.first, made.last, listening_only=True)
        others -= made.open | made.silent
        if others:
            raise ProbeError(f"another program listened on port(s) {sorted(others)[:5]} of the "
                             f"scanned range during the scan: the verdict cannot be trusted")


def _start(ctx: ProbeContext, made: Field, private: bool, *, host: str = "127.0.0.1",
           ) -> tuple[Program, _Targets]:
    ctx.log(f"field {made.describe()}; host {host}")
    targets = _Targets(ctx=ctx, layout=made, private=private)
    program = ctx.start_client(
        values={"host": host, "first": str(made.first), "last": str(made.last)},
        network=targets)
    return program, targets


def _stderr(run: ClientRun) -> str:
    return run.stderr.decode("utf-8", "replace")


def _expect_finished(run: ClientRun, waited: float) -> None:
    if run.status is None:
        raise ProbeFailed(
            f"the scanner did not finish within {waited:.0f} s (killed)",
            hint="give every connect a timeout (sock.settimeout(0.5) before connect_ex): a port "
                 "that never answers otherwise blocks the scan for minutes",
            evidence=Evidence(actual=excerpt(run.stdout)))
    if run.status != 0:
        raise ProbeFailed(f"the scanner exited with status {run.status}",
                          hint="a finished scan exits 0",
                          evidence=Evidence(details=("stderr:\n" + _stderr(run)[-1500:],)))


def _printed(run: ClientRun) -> list[int]:
    """The ports of the scanner's ``port N: OPEN`` lines, in printed order; ProbeFailed for
    any other non-blank line."""
    ports: list[int] = []
    for line in run.stdout.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        match = _LINE.fullmatch(line.strip())
        if match is None:
            raise ProbeFailed(
                "the scanner printed a line that is not 'port N: OPEN'",
                hint="print exactly 'port N: OPEN' for each open port, and nothing for the "
                     "others (no closed ports, no banner, no summary)",
                evidence=Evidence(expected="port N: OPEN", actual=excerpt(line.encode())))
        ports.append(int(match.group(1)))
    return ports


def _expect_exact(run: ClientRun, made: Field) -> list[int]:
    """The printed ports are exactly the open ones, each once; returns them in printed order."""
    printed = _printed(run)
    seen = set(printed)
    twice = sorted({p for p in printed if printed.count(p) > 1})
    if twice:
        raise ProbeFailed(f"the scanner printed port {twice[0]} more than once",
                          hint="report each open port once",
                          evidence=Evidence(actual=excerpt(run.stdout)))
    expected = f"{len(made.open)} open: {sorted(made.open)}"
    actual = f"printed {sorted(seen)}"
    silent = sorted(seen & made.silent)
    if silent:
        raise ProbeFailed(
            f"the scanner reported {len(silent)} port(s) that never answer as OPEN "
            f"(e.g. {silent[0]})",
            hint="only a connect that succeeds (connect_ex() == 0) means OPEN; a timeout or any "
                 "other error is not open",
            evidence=Evidence(expected=expected, actual=actual))
    outside = sorted(p for p in seen if not made.first <= p <= made.last)
    if outside:
        raise ProbeFailed(f"the scanner reported port {outside[0]}, outside the range "
                          f"{made.first}-{made.last}",
                          hint="scan exactly FIRST..LAST", evidence=Evidence(expected=expected,
                                                                             actual=actual))
    closed = sorted(seen - made.open)
    if closed:
        raise ProbeFailed(
            f"the scanner reported {len(closed)} closed port(s) as OPEN (e.g. {closed[0]})",
            hint="a refused connection (connect_ex() returns ECONNREFUSED) is closed: print "
                 "nothing for it", evidence=Evidence(expected=expected, actual=actual))
    missing = sorted(made.open - seen)
    if missing:
        ends = [p for p in missing if p in (made.first, made.last)]
        if ends:
            raise ProbeFailed(
                f"the scanner missed open port {ends[0]}, the "
                f"{'last' if ends[0] == made.last else 'first'} port of the range",
                hint="FIRST and LAST are both scanned: range(first, last + 1)",
                evidence=Evidence(expected=expected, actual=actual))
        raise ProbeFailed(f"the scanner missed {len(missing)} open port(s) (e.g. {missing[0]})",
                          hint="every port that accepts a connection is OPEN",
                          evidence=Evidence(expected=expected, actual=actual))
    return printed


def _scan(ctx: ProbeContext, made: Field, private: bool, *, host: str = "127.0.0.1",
          wait: float | None = None) -> tuple[ClientRun, float]:
    """Start the scanner on ``made``, wait for it (``wait`` seconds, default: until the probe's
    deadline) and return its run and the seconds it took from its start."""
    program, _ = _start(ctx, made, private, host=host)
    started = time.monotonic()
    limit = max(0.1, ctx.deadline - started - 1.0) if wait is None else wait
    run = ctx.finish_client(program, timeout=limit, starved_grace=True)
    elapsed = time.monotonic() - started
    ctx.log(f"scanner ended after {elapsed:.2f} s, status {run.status}")
    if run.status is None:
        _expect_finished(run, limit)
    return run, elapsed


@probe(SUITE, BASIC, weight=2, timeout=30.0,
       params=(Param("ports", 200, "count", "ports in the scanned range"),
               Param("open", 8, "count", "open ports among them")))
def open_ports(ctx: ProbeContext) -> None:
    """Over a range of {ports} ports of 127.0.0.1 of which {open} are open and the others closed,
    the scanner prints exactly one `port N: OPEN` line per open port, nothing else, and exits 0.

    Ports that refuse the connection (RST) are not printed.
    Source: docs/labs.md §18 ("Print `port N: OPEN` for every TCP port").
    """
    with _field(ctx, ctx.param_int("ports"), ctx.param_int("open")) as (made, private):
        run, _ = _scan(ctx, made, private)
        _expect_finished(run, 0)
        _expect_exact(run, made)


@probe(SUITE, "scan/ascending", depends=(BASIC,), timeout=30.0,
       params=(Param("ports", 300, "count", "ports in the scanned range"),
               Param("open", 16, "count", "open ports among them")))
def ascending(ctx: ProbeContext) -> None:
    """With {open} open ports among {ports}, the lines come in ascending port order.

    A concurrent scanner finds ports in any order: it sorts before printing.
    Source: docs/labs.md §18 ("in ascending port order").
    """
    with _field(ctx, ctx.param_int("ports"), ctx.param_int("open")) as (made, private):
        run, _ = _scan(ctx, made, private)
        _expect_finished(run, 0)
        printed = _expect_exact(run, made)
        if printed != sorted(printed):
            raise ProbeFailed("the open ports were not printed in ascending order",
                              hint="collect the open ports, sort them, then print (threads and "
                                   "sets give no order)",
                              evidence=Evidence(expected=str(sorted(printed)),
                                                actual=str(printed)))


@probe(SUITE, "scan/range-ends", depends=(BASIC,), timeout=30.0,
       params=(Param("ports", 50, "count", "ports in the scanned range"),))
def range_ends(ctx: ProbeContext) -> None:
    """FIRST and LAST are both scanned: with both ends of a {ports}-port range open, both are printed.

    Source: docs/labs.md §18 ("from FIRST to LAST").
    """
    with _field(ctx, ctx.param_int("ports"), 4, ends_open=True) as (made, private):
        run, _ = _scan(ctx, made, private)
        _expect_finished(run, 0)
        _expect_exact(run, made)


@probe(SUITE, "scan/silent-ports", depends=(BASIC,), timeout=30.0, lane="silent",
       params=(Param("ports", 40, "count", "ports in the scanned range"),
               Param("open", 6, "count", "open ports among them"),
               Param("silent", 10, "count", "ports that never answer a connection attempt"),
               Param("seconds", 15.0, "seconds", "time the scan may take")))
def silent_ports(ctx: ProbeContext) -> None:
    """Ports that never answer (SYNs dropped) are not OPEN, and closed ones neither: over {ports}
    ports with {open} open and {silent} silent, the exact open set within {seconds}.

    A silent port is what a firewall that drops packets looks like: connect()
    gets no answer at all, so only a timeout ends it.
    Source: docs/labs.md §18 ("the scan must finish in bounded time (use timeouts)").
    """
    with _field(ctx, ctx.param_int("ports"), ctx.param_int("open"),
                ctx.param_int("silent")) as (made, private):
        run, _ = _scan(ctx, made, private, wait=ctx.param_float("seconds"))
        _expect_finished(run, ctx.param_float("seconds"))
        _expect_exact(run, made)


@probe(SUITE, "scan/time-bound", depends=(BASIC,), timeout=60.0, lane="time-bound",
       params=(Param("ports", 1000, "count", "ports in the scanned range"),
               Param("open", 10, "count", "open ports among them"),
               Param("silent", 50, "count", "ports that never answer a connection attempt"),
               Param("seconds", 30.0, "seconds", "time the whole scan may take")))
def time_bound(ctx: ProbeContext) -> None:
    """A {ports}-port range with {silent} ports that never answer is scanned, exactly, within {seconds}.

    Connect timeouts, concurrency (a bounded pool of threads, or selectors), or
    both keep the silent ports from adding up.
    Source: docs/labs.md §18 ("the scan must finish in bounded time (use timeouts)").
    """
    seconds = ctx.param_float("seconds")
    with _field(ctx, ctx.param_int("ports"), ctx.param_int("open"),
                ctx.param_int("silent")) as (made, private):
        run, elapsed = _scan(ctx, made, private, wait=seconds)
        _expect_finished(run, seconds)
        _expect_exact(run, made)
        ctx.log(f"{made.size} ports scanned in {elapsed:.2f} s (bound {seconds:g} s)")


#: Seconds resources/closes-connections waits for a scanner to exit once it has its verdict.
JUDGED_GRACE = 0.5


def _peer_closed(sock: socket.socket) -> bool:
    """True once the scanner closed this accepted connection (FIN or RST arrived)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset


@probe(SUITE, "resources/closes-connections", depends=(BASIC,), timeout=30.0,
       params=(Param("ports", 60, "count", "ports in the scanned range"),
               Param("open", 6, "count", "open ports among them"),
               Param("silent", 8, "count", "ports that never answer, at the top of the range"),
               Param("hold", 1.5, "seconds", "longest a connection may stay open while the "
                                             "scanner runs")))
def closes_connections(ctx: ProbeContext) -> None:
    """Every connection the scanner makes to an open port it closes itself (FIN or RST) within
    {hold}, while it still runs: none is left open until it exits.

    The grader accepts each connection and watches it; the top {silent} ports
    of the {ports}-port range never answer, so the scanner is still running
    after it has found the open ports (a scanner that finishes sooner than
    {hold} is not judged by this probe).
    Source: docs/labs.md §18 ("no socket may be left open").
    """
    hold = ctx.param_float("hold")
    with _field(ctx, ctx.param_int("ports"), ctx.param_int("open"), ctx.param_int("silent"),
                silent_on_top=True) as (made, private):
        program, targets = _start(ctx, made, private)
        accepted: dict[int, tuple[socket.socket, float]] = {}
        closed: set[int] = set()
        with selectors.DefaultSelector() as sel:
            for port, listener in targets.listeners.items():
                listener.setblocking(False)
                sel.register(listener, selectors.EVENT_READ, port)
            while time.monotonic() < ctx.deadline - 1.0:
                alive = program.poll() is None
                for key, _ in sel.select(timeout=0.02):  # bounded: re-checks the process
                    port = key.data
                    with contextlib.suppress(BlockingIOError):
                        conn, _ = targets.listeners[port].accept()
                        accepted[port] = (ctx.track(conn), time.monotonic())
                        ctx.log(f"accepted the scanner's connection to port {port}")
                        sel.unregister(targets.listeners[port])
                now = time.monotonic()
                for port, (conn, since) in accepted.items():
                    if port in closed:
                        continue
                    if _peer_closed(conn):
                        closed.add(port)
                        ctx.log(f"port {port}: closed by the scanner after {now - since:.2f} s")
                    elif alive and now - since > hold:
                        raise ProbeFailed(
                            f"the scanner kept its connection to open port {port} open for "
                            f"more than {hold:g} s while still scanning",
                            hint="close each socket as soon as connect_ex() has answered "
                                 "(with socket.socket() as s: ...): keeping connections "
                                 "until exit holds the scanned host's resources",
                            evidence=Evidence(expected=f"closed within {hold:g} s",
                                              actual="still open (no FIN, no RST)"))
                if not alive or (len(closed) == len(made.open)):
                    break
        ctx.log(f"{len(accepted)} connection(s) accepted, {len(closed)} closed")
        # Judged once every open port's connection is closed: a scanner still at its silent
        # ports (for minutes, without connect timeouts) is not waited for.
        judged = len(closed) == len(made.open)
        run = ctx.finish_client(program, timeout=(
            JUDGED_GRACE if judged else max(0.1, ctx.deadline - time.monotonic() - 0.5)))
        ctx.log(f"scanner status {run.status}" if run.status is not None or not judged
                else "scanner still at the silent ports: stopped, this probe has its verdict")


#: Seconds a scanner's fd count may stay unchanged, every thread of it waiting, before
#: resources/bounded-fds has seen what it holds: blocked for good on a silent port (no
#: timeout; scan/silent-ports judges that), it will not open or close another socket.
FDS_STILL = 1.0


@probe(SUITE, "resources/bounded-fds", depends=(BASIC,), timeout=45.0,
       params=(Param("ports", 1000, "count", "ports in the scanned range"),
               Param("open", 10, "count", "open ports among them"),
               Param("silent", 5, "count", "ports that never answer, at the top of the range"),
               Param("max_fds", 128, "count", "most file descriptors open at once")))
def bounded_fds(ctx: ProbeContext) -> None:
    """While it scans {ports} ports the scanner never has more than {max_fds} file descriptors open.

    Sampled from /proc every few milliseconds during the scan: sockets must be
    closed as the scan goes (a bounded pool, each socket closed after its
    connect), not pile up.  The top {silent} ports never answer, so a scanner
    that kept its sockets open still holds them while it waits there for its
    connect timeouts: a fast scan of refused ports cannot end between two
    samples on a loaded machine.
    Source: docs/labs.md §18 ("no socket may be left open").
    """
    limit = ctx.param_int("max_fds")
    with _field(ctx, ctx.param_int("ports"), ctx.param_int("open"), ctx.param_int("silent"),
                silent_on_top=True) as (made, private):
        program, _ = _start(ctx, made, private)
        peak, last, still_since, seen_all = 0, -1, time.monotonic(), False
        end = ctx.deadline - 1.0
        while program.poll() is None and time.monotonic() < end:
            pids = program.pids()
            stats = process_stats(pids)
            now = time.monotonic()
            if stats is not None:
                peak = max(peak, stats.fds)
                if peak > limit:
                    break
                if stats.fds != last or not waiting(pids):
                    last, still_since = stats.fds, now
                elif now - still_since >= FDS_STILL:
                    ctx.log(f"{stats.fds} file descriptors, unchanged and waiting for "
                            f"{FDS_STILL:g} s: stopped there")
                    seen_all = True
                    break
            time.sleep(0.005)  # samples a real quantity (/proc), bounded by the deadline
        run = ctx.finish_client(program, timeout=0.1 if peak > limit or seen_all else 1.0)
        ctx.log(f"peak {peak} file descriptors; status {run.status}")
        if peak > limit:
            raise ProbeFailed(
                f"the scanner had {peak} file descriptors open at once (limit {limit})",
                hint="close every socket once its connect has answered, including the ones that "
                     "failed (a socket kept alive by a stored exception or list stays open), "
                     "and bound the concurrency (a pool of a few dozen workers)",
                evidence=Evidence(expected=f"at most {limit}", actual=str(peak)))


@probe(SUITE, "host/name", depends=(BASIC,), timeout=30.0,
       params=(Param("ports", 100, "count", "ports in the scanned range"),
               Param("open", 6, "count", "open ports among them")))
def host_name(ctx: ProbeContext) -> None:
    """The host may be a name: `localhost` is resolved and scanned like 127.0.0.1.

    Source: docs/labs.md §18 ("a host name or an address").
    """
    with _field(ctx, ctx.param_int("ports"), ctx.param_int("open")) as (made, private):
        run, _ = _scan(ctx, made, private, host="localhost")
        try:
            _expect_finished(run, 0)
            _expect_exact(run, made)
        except ProbeFailed as exc:
            raise ProbeFailed(f"with host 'localhost': {exc.reason}",
                              hint="resolve the name (socket.gethostbyname, or pass it to "
                                   "connect_ex as is): " + exc.hint,
                              evidence=exc.evidence) from None


#: What a scanner that did not give up cleanly on an unresolvable host is told.
_GIVE_UP = Hints(hung="resolve the host once, before scanning; stop at the first error",
                 exit_zero="exit non-zero (sys.exit(1)) when the host cannot be resolved",
                 traceback="catch socket.gaierror and print one clear line to stderr",
                 one_line="print one clear error line to stderr")


@probe(SUITE, "errors/unresolvable", timeout=45.0,
       params=(Param("seconds", 30.0, "seconds", "time the scanner may take to give up (a "
                                                  "resolver with no server to ask may retry)"),))
def unresolvable(ctx: ProbeContext) -> None:
    """A host name that does not resolve: one line on stderr, a non-zero exit, no traceback,
    nothing on stdout, within {seconds}.

    The name is in the reserved `.invalid` domain (RFC 6761).  In a network of
    its own the resolver fails at once; a container's resolver may first retry
    for about 10 s, which is why the wait is longer.
    Source: docs/labs.md §18 ("cannot be resolved").
    """
    seconds = ctx.param_float("seconds")
    made = Field(first=1000, last=1010, open=frozenset())
    program = ctx.start_client(values={"host": UNRESOLVABLE, "first": str(made.first),
                                       "last": str(made.last)},
                               network=lambda make: None)
    run = ctx.finish_client(program, timeout=seconds, starved_grace=True)
    ctx.log(f"status {run.status}; stderr {_stderr(run).strip()[:200]!r}")
    judge_gave_up(run, "with an unresolvable host", _GIVE_UP, subject="the scanner",
                  killed=f"killed after {seconds:g} s",
                  quiet_stdout="report the error on stderr only; no port is open on a host "
                               "that does not exist")
