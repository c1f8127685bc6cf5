r"""The local launcher: a submission as a process group on this machine.

Theory of operation: the program starts in a new session (so in its own
process group) with its own folder as working directory, stdin an open pipe
(written by :meth:`LocalProgram.write_stdin` for labs that type into the
program, else left empty),
stdout/stderr captured with caps, and resource limits set with
``setrlimit`` before ``exec`` (address space, file size, CPU time, core
dumps, and the process count, which the kernel enforces for non-root users).
Those steps run in a trampoline, a small Python without site packages that
``subprocess`` starts with ``vfork`` and that ``exec``\ s the program in place:
no grader code runs between fork and exec, so a start costs the same (about
10 ms of CPU) whatever the grader's size, where a ``fork`` copies its page
tables (40 ms at 800 MB) while holding the GIL.
Every process inherits a unique token in its environment.  Stopping sends
SIGKILL to the process group, to every descendant, and to any process still
carrying the token (a child that called ``setsid`` or outlived its parent),
repeating until none is left: nothing the submission spawned survives.
Every process also carries the grader's PID (``SOCKGRADE_GRADER``), by which
a batch's watchdog (:mod:`grader.launch.watchdog`) kills them should the
grader itself be killed.

The kernel does not enforce ``RLIMIT_NPROC`` for root, so when the grader
may write the cgroup file system (it runs as root) each program also gets
a pids cgroup of its own (:mod:`grader.launch.cgroup`) capped at the
assignment's ``processes`` (tasks, threads included, as under Docker): a
fork bomb stops growing there, and the group's member list is the kill
loop's list: every descendant is born in the group and cannot leave it
without root's write to another group (a hostile root program is Docker's to
contain), so the scan of every process on the machine for the token (a few
milliseconds with 200 processes, twice a stop) is made only without one.
What the local launcher cannot prevent: a program may write anywhere its
user may (only the Docker runner's read-only root stops that) and may
connect anywhere (only the Docker runner's network stops that), except a
server given a network namespace of its own (as root,
:mod:`grader.launch.netns`): it binds its own loopback, so fixed-port
servers run side by side, and it reaches nothing but the grader.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable

import psutil

from grader.errors import LaunchError
from grader.launch import netns
from grader.launch.base import LaunchSpec, Limits, Output
from grader.launch.capture import CappedCapture
from grader.launch.cgroup import PidsCgroup
from grader.launch.watchdog import GRADER_VAR

TOKEN_VAR = "SOCKGRADE_RUN_TOKEN"


#: The program's first instructions, run by a Python without site packages (``-I -S -B``:
#: about 10 ms of CPU): join the pids cgroup (argv[2], a ``cgroup.procs`` path, or empty),
#: set the rlimits (argv[3], comma-separated values in :func:`_limit_values`'s order), then
#: ``exec`` the program (argv[4:]) in place, so it keeps this process's pid, parent, session and pipes.
#: A step that fails writes ``stage NUL errno NUL message`` on the status pipe (argv[1]) and
#: exits 127; a successful exec closes the pipe (close-on-exec), which the grader reads as EOF.
_TRAMPOLINE = """
import os, resource, sys
status = int(sys.argv[1])
os.set_inheritable(status, False)
stage = "sandbox"
try:
    if sys.argv[2]:
        fd = os.open(sys.argv[2], os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)
    for name, value in zip(("AS", "FSIZE", "CPU", "CORE", "NPROC"), sys.argv[3].split(",")):
        try:
            resource.setrlimit(getattr(resource, "RLIMIT_" + name), (int(value), int(value)))
        except (ValueError, OSError):
            pass
    stage = "exec"
    os.execvp(sys.argv[4], sys.argv[4:])
except OSError as exc:
    os.write(status, ("%s\\0%d\\0%s" % (stage, exc.errno or 0, exc.strerror or exc)).encode())
    os._exit(127)
"""
#: Seconds a start may take to reach the program's own ``exec`` (a Python start, on a loaded
#: machine) before the launcher gives up on it.
EXEC_DEADLINE = 30.0
#: Seconds to wait for a trampoline killed after a failed step to be reaped.
STOP_WAIT = 5.0


def _limit_values(limits: Limits, local_memory: int) -> str:
    """The trampoline's rlimits argument: address space, file size, CPU seconds, core dump
    size, process count (``RLIMIT_NPROC``, enforced by the kernel for non-root users)."""
    return ",".join(str(v) for v in (local_memory, limits.file_size, limits.cpu_seconds, 0,
                                      max(limits.processes, 16) * 16))


def _exec_outcome(status: int, deadline: float) -> bytes:
    """Read the trampoline's status pipe until EOF (the program was exec'd: b"") or its
    report of a failed step; TimeoutError at ``deadline`` (``time.monotonic()``)."""
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([status], [], [], left)
        if not ready:
            continue
        chunk = os.read(status, 4096)
        if not chunk:
            return got
        got += chunk


class LocalProgram:
    """A running local submission; see :class:`grader.launch.base.Program`.

    ``phases`` holds the seconds its ``start`` (cgroup, namespace and
    process, without ``spec.prepare``) and its ``stop`` took.
    """

    def __init__(self, spec: LaunchSpec, *, local_memory: int, own_network: bool = False) -> None:
        begun = time.monotonic()
        self.phases: dict[str, float] = {"start": 0.0, "stop": 0.0}
        self.token = uuid.uuid4().hex
        env = dict(os.environ)
        env.update(spec.env)
        env[TOKEN_VAR] = self.token
        env[GRADER_VAR] = str(os.getpid())  # the watchdog's mark (grader.launch.watchdog)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        self._env = env
        self._cgroup = PidsCgroup.create(f"{os.getpid()}-{self.token[:16]}",
                                         max_tasks=spec.limits.processes)
        self._namespace: netns.Namespace | None = None
        if own_network:
            try:
                self._namespace = netns.Namespace.create()
            except OSError as exc:
                if self._cgroup is not None:
                    self._cgroup.remove()
                raise LaunchError(f"cannot make a network namespace: {exc}") from None
        if spec.prepare is not None:  # the program's network, set up before it runs
            preparing = time.monotonic()
            try:
                spec.prepare(self._namespace.socket if self._namespace is not None
                             else socket.socket)
            except BaseException:
                if self._cgroup is not None:
                    self._cgroup.remove()
                if self._namespace is not None:
                    self._namespace.close()
                raise
            begun += time.monotonic() - preparing
        try:
            self._proc = self._spawn(spec, local_memory)
        except BaseException:
            if self._cgroup is not None:
                self._cgroup.remove()
            if self._namespace is not None:
                self._namespace.close()
            raise
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._out = CappedCapture(self._proc.stdout, cap=spec.limits.output)
        self._err = CappedCapture(self._proc.stderr, cap=spec.limits.output)
        self.pid = self._proc.pid
        self.description = f"pid {self.pid}"
        self._stopped = False
        self._stopping = threading.Lock()  # a second stop() waits for the first to finish
        if self._namespace is not None:
            self.description += " (own network namespace)"
        self.phases["start"] = time.monotonic() - begun

    def _spawn(self, spec: LaunchSpec, local_memory: int) -> subprocess.Popen[bytes]:
        """Start the trampoline (:data:`_TRAMPOLINE`) that becomes the program; LaunchError when
        the program cannot be started or its sandbox cannot be made.

        ``subprocess`` starts it with ``vfork`` (no code runs between fork and exec in
        the grader), so the start costs the same whatever the grader's size: a ``fork``
        copies the grader's page tables (40 ms of CPU at 800 MB), holding the GIL meanwhile.
        The calling thread enters the program's network namespace for the start, so the
        child is born in it.
        """
        procs = str(self._cgroup.procs_path) if self._cgroup is not None else ""
        status_read, status_write = os.pipe2(os.O_CLOEXEC)
        argv = [sys.executable, "-I", "-S", "-B", "-c", _TRAMPOLINE, str(status_write), procs,
                _limit_values(spec.limits, local_memory), *spec.argv]
        try:
            try:
                with (self._namespace.entered() if self._namespace is not None
                      else contextlib.nullcontext()):
                    proc = subprocess.Popen(argv, cwd=spec.cwd, env=self._env, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            start_new_session=True, pass_fds=(status_write,))
            except FileNotFoundError as exc:  # the folder (cwd) or the grader's own Python
                raise LaunchError(f"cannot start {spec.argv[0]!r}: {exc.strerror}") from None
            except OSError as exc:
                raise LaunchError(f"cannot prepare the program's sandbox: {exc}") from None
            os.close(status_write)
            status_write = -1
            try:
                report = _exec_outcome(status_read, time.monotonic() + EXEC_DEADLINE)
            except TimeoutError:
                report = b"exec\0%d\0the start did not reach exec in %d s" % (0, EXEC_DEADLINE)
            if not report:
                return proc
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_WAIT)  # a trampoline killed before it ran the program
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        finally:
            os.close(status_read)
            if status_write >= 0:
                os.close(status_write)
        stage, _, rest = report.decode(errors="replace").partition("\0")
        code, _, message = rest.partition("\0")
        number = int(code) if code.isdigit() else 0
        if stage != "exec":
            raise LaunchError(f"cannot prepare the program's sandbox: {message}")
        if number in (errno.EACCES, errno.EPERM, errno.ENOEXEC):
            raise LaunchError(f"cannot execute {spec.argv[0]!r}: {message}")
        raise LaunchError(f"cannot start {spec.argv[0]!r}: {message}")

    def address(self, port: int) -> tuple[str, int]:
        """Local programs are reached on loopback (their own, with a namespace of their own)."""
        return ("127.0.0.1", port)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM,
               proto: int = 0) -> socket.socket:
        """A socket from which the program is reached: in its own namespace, if it has one."""
        if self._namespace is not None:
            return self._namespace.socket(family, kind, proto)
        return socket.socket(family, kind, proto)

    def poll(self) -> int | None:
        """Exit status of the main process, or None while it runs."""
        return self._proc.poll()

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the main process; its status or None."""
        try:
            return self._proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None

    def pids(self) -> list[int]:
        """The main process (if alive) and all its live descendants.

        With a pids cgroup (root) that is the group's member list, one file read (a zombie
        is not a member; a daemon that left by a double fork still is); otherwise the
        process tree is walked, which reads every process's status.
        """
        if self._cgroup is not None:
            members = self._cgroup.pids()
            if members or self._proc.poll() is not None:
                return sorted(members, key=lambda pid: pid != self.pid)  # the main one first
        try:
            main = psutil.Process(self.pid)
            if main.status() == psutil.STATUS_ZOMBIE:
                return [c.pid for c in main.children(recursive=True)]
            return [self.pid, *(c.pid for c in main.children(recursive=True))]
        except psutil.Error:
            return []

    def output(self) -> Output:
        """Capped stdout and stderr so far.

        Once the main process has exited, waits (up to 0.5 s) for the readers to
        reach EOF, so a crash's traceback is never missed by a race with them.
        """
        if self._proc.poll() is not None:
            self._out.join(0.5)
            self._err.join(0.5)
        return Output(
            stdout=self._out.data(),
            stderr=self._err.data(),
            stdout_total=self._out.total,
            stderr_total=self._err.total,
        )

    def write_stdin(self, data: bytes, *, deadline: float) -> int:
        """Write ``data`` into the stdin pipe before ``deadline``; the bytes it took.

        The pipe is written without blocking (a program that never reads its
        stdin fills it, and the write stops at the deadline); a closed pipe
        (the program exited) ends the write early.
        """
        stdin = self._proc.stdin
        if stdin is None or stdin.closed:
            return 0
        fd = stdin.fileno()
        os.set_blocking(fd, False)
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            try:
                sent += os.write(fd, view[sent:])
                continue
            except BlockingIOError:
                pass
            except OSError:  # BrokenPipeError: nobody reads the pipe any more
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            select.select([], [fd], [], min(left, 0.1))
        return sent

    def close_stdin(self) -> None:
        """Close the program's stdin so it reads EOF."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()

    def _stragglers(self) -> list[psutil.Process]:
        """The program's processes still alive: its pids cgroup's members where it has one,
        else the process group's members and the token's carriers (a scan of every process)."""
        found: dict[int, psutil.Process] = {}
        if self._cgroup is not None:
            for pid in self._cgroup.pids():
                with contextlib.suppress(psutil.Error):
                    found[pid] = psutil.Process(pid)
            return self._alive(found.values())
        for proc in psutil.process_iter(["pid"]):
            if proc.pid == os.getpid():
                continue
            try:
                if os.getpgid(proc.pid) == self.pid:
                    found[proc.pid] = proc
                    continue
                if proc.environ().get(TOKEN_VAR) == self.token:
                    found[proc.pid] = proc
            except (psutil.Error, OSError):
                continue
        return self._alive(found.values())

    @staticmethod
    def _alive(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
        # A zombie is already dead: only its exit status waits for a parent (init, for an
        # orphan) to collect it.  Waiting for that would cost seconds and kill nothing.
        alive = []
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        return alive

    def stop(self) -> None:
        """SIGKILL the process group, descendants and token carriers until none is left.

        Idempotent; a call made while another thread is stopping the program returns only
        once that stop has finished (an interrupted grader exits right after its stop).
        """
        with self._stopping:
            if self._stopped:
                return
            self._stopped = True
            self._stop()

    def _stop(self) -> None:
        begun = time.monotonic()
        self.close_stdin()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            if self._cgroup is not None:
                self._cgroup.kill_all(timeout=0.0)
            victims = self._stragglers()
            for proc in victims:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            self.wait(0.05)
            if not victims and self._proc.poll() is not None:
                break
            psutil.wait_procs(victims, timeout=0.2)
        self.wait(1.0)
        if self._cgroup is not None:
            self._cgroup.kill_all(timeout=2.0)
            self._cgroup.remove()
        self._out.join(1.0)
        self._err.join(1.0)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        if self._namespace is not None:
            self._namespace.close()
        self.phases["stop"] = time.monotonic() - begun


class LocalLauncher:
    """Runs submissions as local processes (the default runner, for students).

    ``memory`` is the address-space cap in bytes; it is larger than the
    container default because address space counts every thread's reserved
    stack, not only resident memory.  ``own_network`` gives each server a
    network namespace of its own (:mod:`grader.launch.netns`); by default it
    is on where the machine allows it (root), and then servers with a
    pinned port run side by side and reach nothing but the grader.
    """

    name = "local"
    bind_host = "127.0.0.1"
    listen_host = "127.0.0.1"
    client_host = "127.0.0.1"

    def __init__(self, *, memory: int = 4 * 1024 * 1024 * 1024,
                 own_network: bool | None = None) -> None:
        self._memory = memory
        self.isolated_network = netns.available() if own_network is None else own_network

    @property
    def network_mode(self) -> str:
        """How servers are networked, for the report."""
        if self.isolated_network:
            return "each server in a network namespace of its own"
        return "servers share this machine's loopback (network namespaces need root)"

    def start(self, spec: LaunchSpec) -> LocalProgram:
        """Start ``spec`` as a new session; raises LaunchError if it cannot be executed."""
        return LocalProgram(spec, local_memory=self._memory,
                            own_network=self.isolated_network and spec.own_network)

    def close(self) -> None:
        """Nothing to release locally."""
