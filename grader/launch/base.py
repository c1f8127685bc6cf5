"""The launcher protocol: start a submission, observe it, stop everything it spawned.

Theory of operation: a :class:`Launcher` turns a :class:`LaunchSpec` (argv,
working folder, limits) into a running :class:`Program`.  Two
implementations exist, :mod:`grader.launch.local` (a process group on this
machine) and :mod:`grader.launch.docker` (a locked-down container).  Both
expose the same observations, read from the host's ``/proc`` for the
program's process tree: threads, open file descriptors, CPU seconds, resident
memory and the sockets it listens on (its socket inodes in ``/proc/PID/fd``,
matched against a sock_diag dump made in the program's own network namespace,
or against ``/proc/PID/net/*``, which shows that namespace too: a
container's, not the grader's).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psutil

from grader.launch import sockdiag

#: The image a Docker run uses unless the assignment or command line says otherwise.
DEFAULT_IMAGE = "python:3.12-slim"

#: Makes a socket (family, kind) in a program's network: its own namespace, or the grader's.
SocketMaker = Callable[[int, int], socket.socket]


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Resource caps for one submission.

    ``memory`` in bytes, ``processes`` a count, ``cpus`` in cores (Docker
    only), ``cpu_seconds`` of CPU time, ``file_size`` in bytes per written
    file, ``output`` in bytes of stdout and of stderr kept.
    """

    memory: int = 256 * 1024 * 1024
    processes: int = 64
    cpus: float = 1.0
    cpu_seconds: int = 600
    file_size: int = 256 * 1024 * 1024
    output: int = 64 * 1024


@dataclass(frozen=True, kw_only=True)
class LaunchSpec:
    """How to start one program: ``argv`` (already substituted), ``cwd``, extra ``env``.

    ``writable`` lists grader-owned folders the program must be able to read
    and write at the same absolute path (the runner's ``{scratch}`` folders):
    a local program already can; a container launcher must mount them.
    ``grader_ports`` lists ports of the grader's own listeners (on the
    launcher's ``listen_host``) the program may connect to (client labs): a
    sandboxing launcher lets it reach those and nothing else.
    ``own_network`` (servers) asks for a network namespace of its own where
    the launcher can give one; the grader then reaches it through
    :meth:`Program.socket`.  ``prepare`` is called once, before the program
    runs a single instruction of its own, with a :data:`SocketMaker` for the
    network the program will be in (its own namespace when it gets one, else
    the grader's): the grader makes there the listeners the program must
    find already in place (a port scanner's targets).  Its sockets stay the
    caller's to close; an exception it raises aborts the start.
    ``group`` names the grading the program belongs to (one submission's
    lanes, restarts and client runs): a sandboxing launcher may put programs
    of the same group on one network, and never programs of different groups;
    None asks for a network of the program's own.
    """

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    writable: tuple[Path, ...] = ()
    grader_ports: tuple[int, ...] = ()
    own_network: bool = False
    prepare: Callable[[SocketMaker], None] | None = None
    group: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProcessStats:
    """A snapshot of the program's process tree.

    ``cpu_seconds`` is user plus system time of the live processes;
    ``rss`` is resident memory in bytes.
    """

    processes: int
    threads: int
    fds: int
    cpu_seconds: float
    rss: int


@dataclass(frozen=True, kw_only=True)
class Output:
    """Captured output, capped: ``stdout``/``stderr`` bytes kept, ``*_total`` bytes seen."""

    stdout: bytes
    stderr: bytes
    stdout_total: int
    stderr_total: int

    @property
    def truncated(self) -> bool:
        """True when either stream produced more than was kept."""
        return self.stdout_total > len(self.stdout) or self.stderr_total > len(self.stderr)


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A socket the program has bound: ``proto`` is "tcp" or "udp"; ``host`` as text."""

    proto: str
    host: str
    port: int


class Program(Protocol):
    """A started submission.  All methods are safe to call after it exited."""

    #: Human-readable description, e.g. ``"pid 1234"`` or ``"container 3f2a…"``.
    description: str

    def address(self, port: int) -> tuple[str, int]:
        """Where the grader connects to reach the program's ``port``."""
        ...

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM,
               proto: int = 0) -> socket.socket:
        """A new socket from which :meth:`address` is reached (made in the program's network
        namespace when it has one of its own; ``proto`` as for :func:`socket.socket`, e.g. a
        netlink protocol); OSError when it cannot be made."""
        ...

    def poll(self) -> int | None:
        """The exit status once the main process ended (negative: killed by signal), else None."""
        ...

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the main process to end; its status or None."""
        ...

    def pids(self) -> list[int]:
        """Host PIDs of the program's live processes (main process first)."""
        ...

    def output(self) -> Output:
        """Stdout and stderr captured so far, capped."""
        ...

    def write_stdin(self, data: bytes, *, deadline: float) -> int:
        """Write ``data`` to the program's standard input before ``deadline`` (on
        ``time.monotonic()``); the number of bytes it accepted.

        Fewer than ``len(data)`` when the deadline passed (the program does not
        read its stdin and the pipe is full) or its stdin is closed (it exited,
        closed it, or :meth:`close_stdin` was called).  Never raises for those.
        Programs nobody writes to keep today's stdin: open, empty, never written.
        """
        ...

    def close_stdin(self) -> None:
        """Close the program's standard input (it reads EOF)."""
        ...

    def stop(self) -> None:
        """Kill the program and everything it spawned; idempotent."""
        ...


class Launcher(Protocol):
    """Starts programs; one launcher serves a whole grading run."""

    #: "local" or "docker".
    name: str
    #: The address a server submission is told to bind (the ``{host}`` placeholder).
    bind_host: str
    #: True when each server has its own network namespace (pinned ports may run in parallel).
    isolated_network: bool

    @property
    def network_mode(self) -> str:
        """How servers are networked, in words for the report."""
        ...

    @property
    def listen_host(self) -> str:
        """The address the grader's own listeners bind for client submissions."""
        ...

    @property
    def client_host(self) -> str:
        """The address a client submission is told to connect to."""
        ...

    def start(self, spec: LaunchSpec) -> Program:
        """Start ``spec``; raises :class:`grader.errors.LaunchError` when the machine fails."""
        ...

    def close(self) -> None:
        """Release what the launcher holds (networks, images); idempotent."""
        ...


# -- where the time of a launch goes ------------------------------------------


def phases_of(program: object) -> dict[str, float]:
    """The seconds ``program`` spent in each phase of its launch and teardown.

    Programs of both launchers keep them in a ``phases`` attribute (local:
    ``start``, ``stop``; Docker: see :data:`grader.launch.docker.PHASES`),
    and the runner adds ``ready``, the wait for a server to listen.  A
    program without one (a test's stand-in) gives an empty mapping.
    """
    phases = getattr(program, "phases", None)
    return phases if isinstance(phases, dict) else {}


def add_phase(program: object, phase: str, seconds: float) -> None:
    """Add ``seconds`` to ``phase`` of ``program``'s phases, when it keeps them."""
    phases = getattr(program, "phases", None)
    if isinstance(phases, dict):
        phases[phase] = phases.get(phase, 0.0) + seconds


# -- observation from /proc, shared by both launchers -------------------------


def _processes(pids: Iterable[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:
            continue
    return out


def process_stats(pids: Iterable[int]) -> ProcessStats | None:
    """Sum threads, fds, CPU seconds and RSS over ``pids``; None if none is alive."""
    procs = _processes(pids)
    threads = fds = rss = 0
    cpu = 0.0
    alive = 0
    for proc in procs:
        try:
            with proc.oneshot():
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                threads += proc.num_threads()
                fds += proc.num_fds()
                times = proc.cpu_times()
                cpu += times.user + times.system
                rss += proc.memory_info().rss
                alive += 1
        except psutil.Error:
            continue
    if not alive:
        return None
    return ProcessStats(processes=alive, threads=threads, fds=fds, cpu_seconds=cpu, rss=rss)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(path: str) -> list[bytes] | None:
    """The fields of a ``/proc/.../stat`` file after the command name (``man 5 proc``: the
    state is the first, utime the 12th); None when it cannot be read (the task is gone)."""
    try:
        with open(path, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()


def cpu_seconds(pids: Iterable[int]) -> float | None:
    """CPU seconds (user + system, every thread's, the dead ones' included) that ``pids`` have
    used, from ``/proc/PID/stat`` alone (clock ticks, 10 ms); None when none can be read.

    The same figure as :func:`process_stats`' ``cpu_seconds`` at a fraction of its cost
    (one read a process), for looks repeated during a measurement.
    """
    ticks = [int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
             for pid in pids if (fields := _stat_fields(f"/proc/{pid}/stat")) is not None]
    return sum(ticks) / _CLOCK_TICKS if ticks else None


def _thread_stats(pids: Iterable[int]) -> list[tuple[str, bytes, int]]:
    """Every thread of ``pids``: its id, its scheduler state letter and the CPU clock ticks
    (user + system) it has used (``/proc/PID/task/TID/stat``)."""
    threads = []
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
            if fields:
                threads.append((tid, fields[0][:1], int(fields[11]) + int(fields[12])))
    return threads


def _thread_states(pids: Iterable[int]) -> list[bytes]:
    """The scheduler state letter of every thread of ``pids`` (``/proc/PID/task/TID/stat``)."""
    return [state for _, state, _ in _thread_stats(pids)]


def threads_at_work(pids: Iterable[int]) -> frozenset[str]:
    """Ids of the threads of ``pids`` running or waiting for a CPU now (state R)."""
    return frozenset(tid for tid, state, _ in _thread_stats(pids) if state == b"R")


def runnable(pids: Iterable[int]) -> bool:
    """True when a thread of ``pids`` is running or waiting for a CPU (state R in
    ``/proc/PID/task/TID/stat``): the program is busy or starved, not blocked."""
    return b"R" in _thread_states(pids)


def waiting(pids: Iterable[int]) -> bool:
    """True when ``pids`` have a live thread and every live one sleeps until an event
    (state S): none is running, waiting for a CPU (R) or for the disk (D, e.g. a page fault
    on a loaded machine), none is stopped (T); a dead one (a zombie child nobody reaped, Z
    or X) does nothing and does not count.  A program with no live thread is not waiting."""
    states = [state for state in _thread_states(pids) if state not in (b"Z", b"X")]
    return bool(states) and all(state == b"S" for state in states)


def describe_state(pids: Sequence[int]) -> str:
    """What a program is doing now, in words for evidence and transcripts: exited, every
    thread blocked (waiting for an event), or running or waiting for a CPU (busy, or starved
    on a loaded machine), with the CPU seconds it has used since its start (``/proc``)."""
    if not pids:
        return "it had exited"
    used = cpu_seconds(pids)
    cpu = "" if used is None else f", {used:.2f} CPU s used since its start"
    if waiting(pids):
        return "every thread blocked, waiting for an event" + cpu
    if runnable(pids):
        return "running or waiting for a CPU" + cpu
    return "neither blocked nor running (waiting for the disk, or stopped)" + cpu


#: CPU seconds a program may have used and still count as starved of CPU (:func:`starved`).
#: Starting Python and connecting takes a tenth of it (about 0.05 s); a program that used more
#: was given the CPU and spent it on something else.
STARVED_CPU = 0.5


def starved(pids: Sequence[int]) -> str | None:
    """Why the program of ``pids`` counts as starved of CPU now, in words; None when it does not.

    Starved: alive, not every thread blocked waiting for an event (so running, waiting for a
    CPU, or for the disk) and under :data:`STARVED_CPU` CPU seconds used since its start
    (``/proc``): a loaded machine has not yet run it long enough to do what it was started
    for.  A program that blocks (on a sleep, an unanswered connect) or that has spent more CPU
    (a busy loop) is not starved.
    """
    if not pids or waiting(pids):
        return None
    return _short_of_cpu(pids)


def _short_of_cpu(pids: Sequence[int]) -> str | None:
    """:func:`starved` for ``pids`` already known to be alive and not all blocked."""
    used = cpu_seconds(pids)
    if used is None or used >= STARVED_CPU:
        return None
    return f"runnable with only {used:.2f} CPU s used since its start"


#: Seconds a program must be seen blocked, without a break, to count as blocked rather than
#: starved (:class:`StarvedWatch`): a starved program blocks for moments too.
BLOCKED_FOR = 0.3


class StarvedWatch:
    """Looks at a program past a deadline it missed, to tell one starved of CPU (:func:`starved`)
    from one that is really blocked, exited, or has spent its CPU on something else.

    A starved program blocks for moments too (a connect's handshake, a write to its output
    pipe), so it counts as blocked only once seen blocked for :data:`BLOCKED_FOR` seconds
    without a break.  ``pids`` gives the program's live pids at each look.  Callers look
    repeatedly (each look reads ``/proc``) while they wait for what they were waiting for.
    """

    def __init__(self, pids: Callable[[], Sequence[int]]) -> None:
        self._pids = pids
        self._blocked_since: float | None = None
        #: What the first look that found it starved saw (words), or None when none has.
        self.first_starved: str | None = None

    def look(self) -> str | None:
        """Why the program still deserves more time, in words ("runnable with only 0.11 CPU s
        used since its start", or "blocked for a moment"); None once it does not (exited,
        spent its allowance, or blocked for :data:`BLOCKED_FOR` seconds)."""
        pids = self._pids()
        if not pids:  # exited
            return None
        if waiting(pids):  # one read of its threads' states a look
            now = time.monotonic()
            self._blocked_since = now if self._blocked_since is None else self._blocked_since
            return None if now - self._blocked_since >= BLOCKED_FOR else "blocked for a moment"
        self._blocked_since = None
        why = _short_of_cpu(pids)  # None: it had the CPU and spent it
        self.first_starved = self.first_starved or why
        return why


#: CPU seconds a thread may use while the grader waits on it and still be owed more time
#: (:class:`BusyWatch`).  Handling a probe's message, FIN or reset takes a few milliseconds of
#: CPU (a Python server that crashes on it exits in about 20); a thread that had this much and
#: still does not block is busy with work of its own.
SPENT_CPU = 0.1
#: CPU seconds a program's threads may use together while the grader waits on it and the
#: program still count as starved of CPU (:attr:`BusyLook.starved`).  However many of its
#: threads are each still owed time, a program that had this much had the CPU and spent it
#: on work of its own: a fork bomb's sixty processes, each new and each spinning, would
#: otherwise be owed time until every one of them had spent its tenth of a second.  The
#: program's processes share one cgroup's part of the cores: 48 spinners graded beside six
#: busy test workers on two cores had 0.47 CPU s between them in the 2 s after a deadline.
PROGRAM_SPENT_CPU = 0.25


@dataclass(frozen=True)
class BusyLook:
    """One look of a :class:`BusyWatch` at a program's threads.

    ``waiting``: it has a live thread and every live one is blocked waiting for an event
    (:func:`waiting`); ``at_rest``: every live thread is blocked or a busy loop (it may be
    one, and has spent :data:`SPENT_CPU` since the watch began); ``owed``: some thread that
    is not a busy loop is runnable (running or waiting for a CPU): it has work to do;
    ``spent``: the CPU seconds its threads have used together since the watch began (each
    from the first look that saw it; threads that ended count what they had used by the
    last look).
    """

    waiting: bool
    at_rest: bool
    owed: bool
    spent: float = 0.0

    @property
    def starved(self) -> bool:
        """Owed time, and the program as a whole has not had :data:`PROGRAM_SPENT_CPU` since
        the watch began: the machine, not the program, kept the work from being done."""
        return self.owed and self.spent < PROGRAM_SPENT_CPU


class BusyWatch:
    """Looks at a program while the grader waits for it to handle what it was given, telling a
    thread that still has that work to do from one busy with work of its own.

    A thread blocked waiting for an event has handled what it could.  A runnable one is owed
    time (a loaded machine may not have run it yet) until it has used :data:`SPENT_CPU` CPU
    seconds since the watch began (its first look at that thread): one that had that much
    CPU and still does not block is spinning (a loop polling a non-blocking socket, a
    ``recv() == b''`` never checked), so waiting on it would only wait out the bound.
    ``pids`` is the program's pids, or a function giving its live pids at each look;
    ``loops``, when given, the only thread ids that may be taken for busy loops (threads
    already at work before the grader gave the program anything: a thread that starts
    spinning only afterwards may be reacting to it).  Each :meth:`look` reads ``/proc``
    once: a thread's state and CPU ticks (10 ms).
    """

    def __init__(self, pids: Sequence[int] | Callable[[], Sequence[int]], *,
                 loops: Collection[str] | None = None) -> None:
        self._pids = pids
        self._loops = loops
        self._first: dict[str, int] = {}
        self._last: dict[str, int] = {}

    def look(self, pids: Sequence[int] | None = None) -> BusyLook:
        """The program's threads now (:class:`BusyLook`), of ``pids`` when given (the
        caller's look at them this moment); a program with no live thread is neither
        waiting nor at rest nor owed time."""
        if pids is None:
            pids = self._pids() if callable(self._pids) else self._pids
        spent = SPENT_CPU * _CLOCK_TICKS
        live = blocked = rested = owed = 0
        first, last = self._first, self._last
        for tid, state, ticks in _thread_stats(pids):
            if ticks < first.get(tid, ticks):  # a new thread under an ended one's id
                first[tid] = ticks
            last[tid] = ticks
            if state in (b"Z", b"X"):
                continue
            live += 1
            loop = (ticks - first.setdefault(tid, ticks) >= spent
                    and (self._loops is None or tid in self._loops))
            if state == b"S":
                blocked += 1
                rested += 1
            elif loop:
                rested += 1
            elif state == b"R":
                owed += 1
        used = sum(ticks - first.get(tid, ticks) for tid, ticks in last.items())
        return BusyLook(waiting=live > 0 and blocked == live, at_rest=live > 0 and rested == live,
                        owed=owed > 0, spent=used / _CLOCK_TICKS)

    def owed(self) -> bool:
        """True when a thread has work to do and has not had the CPU for it
        (:attr:`BusyLook.owed`): a predicate for waits such as :meth:`grader.net.Conn.push`'s
        ``busy``."""
        return self.look().owed


def socket_inodes(pid: int) -> set[str]:
    """Inodes (as text) of the sockets process ``pid`` holds open; empty when it cannot be read."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _decode_address(text: str, family: int) -> tuple[str, int]:
    host_hex, port_hex = text.split(":")
    raw = bytes.fromhex(host_hex)
    if family == socket.AF_INET:
        host = socket.inet_ntop(family, raw[::-1])
    else:
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        host = socket.inet_ntop(family, words)
    return host, int(port_hex, 16)


def bound_endpoints(pids: Iterable[int], diag: socket.socket | None = None) -> list[Endpoint]:
    """TCP sockets in LISTEN and bound UDP sockets owned by ``pids``, sorted.

    With ``diag``, a ``NETLINK_SOCK_DIAG`` socket made in the processes' network namespace
    (``Program.socket``), asked by a sock_diag dump of listeners and UDP sockets
    (:func:`grader.launch.sockdiag.bound`: about a tenth of a millisecond).  Without it, or
    when the kernel does not answer, read from ``/proc/PID/net/{tcp,tcp6,udp,udp6}``, which
    show the network namespace of that process (a container's own, under Docker) but walk
    every TCP connection of the machine (about 20 ms of kernel time for the four).
    """
    pid_list = list(pids)
    inodes: set[str] = set()
    for pid in pid_list:
        inodes |= socket_inodes(pid)
    if not inodes or not pid_list:
        return []
    found: dict[tuple[str, str, int], Endpoint] = {}
    if diag is not None:
        try:
            listed = sockdiag.bound(diag)
        except OSError:
            pass
        else:
            for entry in listed:
                if str(entry.inode) in inodes:
                    proto = "tcp" if entry.state == sockdiag.TCP_LISTEN else "udp"
                    found[(proto, entry.host, entry.port)] = Endpoint(
                        proto=proto, host=entry.host, port=entry.port)
            return sorted(found.values(), key=lambda e: (e.proto, e.port, e.host))
    tables = (
        ("tcp", socket.AF_INET, "tcp"),
        ("tcp6", socket.AF_INET6, "tcp"),
        ("udp", socket.AF_INET, "udp"),
        ("udp6", socket.AF_INET6, "udp"),
    )
    for table, family, proto in tables:
        try:
            lines = Path(f"/proc/{pid_list[0]}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or cols[9] not in inodes:
                continue
            if proto == "tcp" and cols[3] != "0A":  # 0A = TCP_LISTEN
                continue
            if proto == "udp" and cols[3] != "07":  # 07 = unconnected datagram socket
                continue
            host, port = _decode_address(cols[1], family)
            found[(proto, host, port)] = Endpoint(proto=proto, host=host, port=port)
    return sorted(found.values(), key=lambda e: (e.proto, e.port, e.host))


WILDCARDS = frozenset({"0.0.0.0", "::", "::ffff:0.0.0.0"})


def serves(endpoint: Endpoint, *, proto: str, host: str, port: int) -> bool:
    """True when ``endpoint`` accepts ``proto`` traffic sent to ``host:port``."""
    if endpoint.proto != proto or endpoint.port != port:
        return False
    if endpoint.host in WILDCARDS or endpoint.host == host:
        return True
    return endpoint.host == f"::ffff:{host}"


#: Kernel TCP states by the hex code in /proc/net/tcp (include/net/tcp_states.h).
TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
    "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
    "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}


def tcp_states(pids: Iterable[int]) -> dict[str, int]:
    """Count the TCP sockets owned by ``pids`` by kernel state name (e.g. ``CLOSE_WAIT``)."""
    pid_list = list(pids)
    inodes: set[str] = set()
    for pid in pid_list:
        inodes |= socket_inodes(pid)
    counts: dict[str, int] = {}
    if not inodes:
        return counts
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid_list[0]}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 10 and cols[9] in inodes:
                state = TCP_STATES.get(cols[3], cols[3])
                counts[state] = counts.get(state, 0) + 1
    return counts
