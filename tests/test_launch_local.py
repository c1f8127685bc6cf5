"""The local launcher and readiness: process groups die whole, output is capped, stdin stays
open, and every way of not starting is told apart."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from helpers import BUGS, TESTS, grade, not_passed, verdict

from grader import net
from grader.bundle import REFERENCE_DIR
from grader.errors import LaunchError
from grader.launch.base import LaunchSpec, Limits
from grader.launch.local import TOKEN_VAR, LocalLauncher
from grader.launch.tracked import TrackedLauncher
from grader.net import free_port
from grader.readiness import wait_ready
from grader.verdict import Outcome

PROGRAMS = TESTS / "programs"


def start(program: Path, *extra: str, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    port = free_port()
    spec = LaunchSpec(argv=(sys.executable, str(program), "127.0.0.1", str(port), *extra),
                      cwd=program.parent, limits=limits or Limits())
    return LocalLauncher().start(spec), port


@pytest.mark.parametrize("sandbox", ["pids cgroup", "token scan"])
def test_stop_kills_children_grandchildren_and_detached_sessions(
        tmp_path: Path, monkeypatch, sandbox: str) -> None:  # type: ignore[no-untyped-def]
    """Every descendant dies with the program: found by its pids cgroup (root), or else by the
    process group and the run's token.  With a cgroup, a detached child that dropped its
    environment (no token) dies too: the cgroup's member list alone is the kill list."""
    from grader.launch import local

    pidfile = tmp_path / "pids"
    if sandbox == "token scan":  # what a machine without a writable cgroup tree does
        monkeypatch.setattr(local.PidsCgroup, "create", classmethod(lambda cls, *a, **k: None))
        program, port = start(PROGRAMS / "spawns_children.py", str(pidfile))
    else:
        if os.geteuid() != 0:
            pytest.skip("a pids cgroup of the program's own needs root")
        program, port = start(PROGRAMS / "spawns_children.py", str(pidfile), "bare")
        assert program._cgroup is not None
    assert wait_ready(program, proto="tcp", host="127.0.0.1", port=port, timeout=10).ready
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == (4 if sandbox == "pids cgroup" else 3)
    descendants = {p.pid for p in psutil.Process(pids[0]).children(recursive=True)}
    program.stop()
    deadline = time.monotonic() + 5
    survivors = {pid for pid in {*pids, *descendants} if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE}
    while survivors and time.monotonic() < deadline:
        survivors = {pid for pid in survivors if psutil.pid_exists(pid)
                     and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE}
    assert survivors == set()
    carriers = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(TOKEN_VAR) == program.token:
                carriers.append(proc.pid)
        except psutil.Error:
            continue
    assert carriers == []  # nothing that inherited the run's token survived


def test_output_is_capped_and_grading_goes_on() -> None:
    result = grade("tcp-echo-server", PROGRAMS / "floods_output.py", select=("echo/*",))
    assert not_passed(result) == set()
    assert result.output.stdout_total > len(result.output.stdout)
    assert len(result.output.stdout) < 2 * Limits().output


def test_stdin_stays_open() -> None:
    result = grade("tcp-echo-server", PROGRAMS / "quits_on_stdin_eof.py",
                   select=("echo/*", "robustness/sequential-clients"))
    assert not_passed(result) == set()


def test_never_listens_is_reported_with_its_output() -> None:
    result = grade("tcp-echo-server", PROGRAMS / "never_listens.py", select=("startup/*",))
    v = verdict(result, "startup/listens")
    assert v.outcome is Outcome.FAILED and "did not listen" in v.reason
    assert any("press enter" in d for d in v.evidence.details)


def test_crash_at_start_shows_the_stderr_tail() -> None:
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "python2.py")
    v = verdict(result, "startup/listens")
    assert "crashed at start" in v.reason
    assert any("SyntaxError" in d for d in v.evidence.details)


def test_memory_limit_applies() -> None:
    program, _ = start(PROGRAMS / "never_listens.py", limits=Limits())
    try:
        limit = psutil.Process(program.pid).rlimit(psutil.RLIMIT_AS)
        assert limit[0] > 0 and limit[0] != psutil.RLIM_INFINITY
    finally:
        program.stop()


def test_working_directory_is_the_submission_folder(tmp_path: Path) -> None:
    program, _ = start(PROGRAMS / "never_listens.py")
    try:
        assert Path(psutil.Process(program.pid).cwd()) == PROGRAMS
        assert os.path.isdir(PROGRAMS)
    finally:
        program.stop()


def test_server_ports_come_from_below_the_ephemeral_range() -> None:
    """No connect() or bind(0) on the machine can be handed a port chosen for a server."""
    first_ephemeral = net.ephemeral_range()[0]
    ports = [net.free_port() for _ in range(50)]
    if net.SERVER_PORTS[1] <= first_ephemeral:
        assert all(net.SERVER_PORTS[0] <= p < net.SERVER_PORTS[1] for p in ports)
    assert all(net.port_is_free("127.0.0.1", p) for p in ports)


def test_a_port_taken_before_the_server_binds_it_is_retried_not_blamed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another process binds the grader's chosen port first: the start is retried on a fresh
    port, every probe passes, and the report notes it (a grader-side collision costs nothing).
    Only on a shared loopback: in a namespace of its own the server's port is never taken."""
    real = net.free_port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        picks = iter([taken])
        monkeypatch.setattr(net, "free_port", lambda host="127.0.0.1": next(picks, None) or real(host))
        result = grade("tcp-echo-server", select=("echo/one-message",),
                       launcher=LocalLauncher(own_network=False))
    assert not_passed(result) == set()
    assert any(f"port {taken} was taken" in note for note in result.notes), result.notes


def test_a_program_that_binds_a_busy_port_of_its_own_is_not_retried(tmp_path: Path) -> None:
    """A hard-coded port that is busy is the program's fault: reported at once, no retry note."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        program = tmp_path / "server.py"
        program.write_text("import socket\ns = socket.socket()\n"
                           f"s.bind(('127.0.0.1', {busy}))\ns.listen()\n")
        result = grade("tcp-echo-server", program, select=("echo/one-message",),
                       launcher=LocalLauncher(own_network=False))
    start = verdict(result, "startup/listens")
    assert start.outcome is Outcome.FAILED
    assert "SO_REUSEADDR" in start.hint or "busy" in start.hint, start.hint
    assert not any("was taken" in note for note in result.notes)


class _SlowStart:
    """A real local launcher whose start waits for ``go`` first: a start still in progress
    when the grading is interrupted."""

    def __init__(self) -> None:
        self.inner = LocalLauncher()
        self.entered = threading.Event()
        self.go = threading.Event()
        self.name, self.bind_host, self.isolated_network = "local", "127.0.0.1", False

    def start(self, spec: LaunchSpec):  # type: ignore[no-untyped-def]
        self.entered.set()
        assert self.go.wait(30)
        return self.inner.start(spec)


@pytest.mark.parametrize("end", ["abort", "release"])
def test_a_start_in_progress_when_the_grading_ends_is_stopped(end: str) -> None:
    """An interrupt (abort) or the grading's end (release) while a thread is still starting a
    program: it waits for that start and stops its program before it returns (the caller
    may exit at once), and refuses later starts; only an interrupt counts as aborted."""
    slow = _SlowStart()
    tracked = TrackedLauncher(slow)  # type: ignore[arg-type]
    port = free_port()
    spec = LaunchSpec(argv=(sys.executable, str(REFERENCE_DIR / "tcp_echo_server.py"),
                            "127.0.0.1", str(port)), cwd=REFERENCE_DIR)
    outcome: list[object] = []
    starter = threading.Thread(target=lambda: outcome.append(_start_or_error(tracked, spec)))
    starter.start()
    assert slow.entered.wait(30)
    ender = threading.Thread(target=getattr(tracked, end))
    ender.start()
    assert _wait_until(lambda: tracked.aborted or tracked._released)
    assert ender.is_alive()  # it waits for the start in progress...
    slow.go.set()
    ender.join(60)
    assert not ender.is_alive()
    # ...and once it returns, the program that start made is already stopped, though the
    # starting thread may not have run again
    started = [p for p in psutil.process_iter(["cmdline"])
               if str(port) in (p.info["cmdline"] or []) and p.status() != psutil.STATUS_ZOMBIE]
    assert started == []
    starter.join(60)
    assert isinstance(outcome[0], LaunchError)  # the late start is refused, not used
    assert tracked.aborted is (end == "abort")
    with pytest.raises(LaunchError, match="interrupted" if end == "abort" else "is over"):
        tracked.start(spec)


def test_a_second_stop_returns_only_once_the_program_is_gone() -> None:
    program, port = start(REFERENCE_DIR / "tcp_echo_server.py")
    assert wait_ready(program, proto="tcp", host="127.0.0.1", port=port, timeout=10).ready
    pid = program.pid
    first = threading.Thread(target=program.stop)
    first.start()
    program.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    first.join(30)


def _start_or_error(tracked: TrackedLauncher, spec: LaunchSpec) -> object:
    try:
        return tracked.start(spec)
    except LaunchError as exc:
        return exc


def _wait_until(predicate, seconds: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # polls a flag another thread sets; bounded
    return True


def _started_as(tmp_path: Path, launcher: LocalLauncher, limits: Limits) -> tuple[dict, object]:  # type: ignore[type-arg]
    report = tmp_path / "report.json"
    spec = LaunchSpec(argv=(sys.executable, str(PROGRAMS / "reports_itself.py"), str(report)),
                      cwd=tmp_path, limits=limits, own_network=True)
    program = launcher.start(spec)
    deadline = time.monotonic() + 30
    try:
        while not report.exists():
            assert program.poll() is None, program.output()
            assert time.monotonic() < deadline, "the program never wrote its report"
            time.sleep(0.01)  # polls the real condition: the report file's appearance
    except BaseException:
        program.stop()
        raise
    return json.loads(report.read_text()), program


def test_the_program_is_started_as_itself_with_every_limit_and_no_grader_fd(tmp_path: Path) -> None:
    """The trampoline hands over: the program's own argv, the grader as its parent, a session of
    its own, every rlimit, the pids cgroup and network namespace (as root), and only fds 0-2."""
    limits = Limits(file_size=3 * 1024 * 1024, cpu_seconds=77, processes=20)
    launcher = LocalLauncher(memory=3 * 1024 * 1024 * 1024)
    seen, program = _started_as(tmp_path, launcher, limits)
    try:
        assert seen["argv"] == [str(PROGRAMS / "reports_itself.py"), str(tmp_path / "report.json")]
        assert seen["ppid"] == os.getpid() and seen["session"]
        assert seen["fds"] == [0, 1, 2]  # not the trampoline's status pipe, nor any grader fd
        assert seen["limits"] == {"AS": 3 * 1024 * 1024 * 1024, "FSIZE": 3 * 1024 * 1024,
                                  "CPU": 77, "CORE": 0, "NPROC": 20 * 16}
        if launcher.isolated_network:
            assert seen["netns"] != os.readlink("/proc/self/ns/net")
        if os.geteuid() == 0:  # root: a pids cgroup of its own, capped at the task limit
            lines = [line for line in seen["cgroup"].splitlines() if "/sockgrade/" in line]
            assert lines, seen["cgroup"]
            _, controllers, path = lines[0].split(":", 2)  # v1: "N:pids:/...", v2: "0::/..."
            group = Path("/sys/fs/cgroup") / ("pids" if controllers == "pids" else "") / path[1:]
            assert (group / "pids.max").read_text().strip() == "20"
    finally:
        program.stop()  # type: ignore[attr-defined]


def test_a_program_that_cannot_be_executed_is_told_apart(tmp_path: Path) -> None:
    """Missing, not executable, not a program: one LaunchError each, naming the program."""
    plain = tmp_path / "server.py"
    plain.write_text("print('hi')\n")
    junk = tmp_path / "server.bin"
    junk.write_bytes(b"\x00\x01 not a program")
    junk.chmod(0o755)
    cases = [(str(tmp_path / "missing"), "cannot start", "No such file"),
             (str(plain), "cannot execute", "Permission denied"),
             (str(junk), "cannot execute", "Exec format error")]
    for argv0, words, reason in cases:
        with pytest.raises(LaunchError) as caught:
            LocalLauncher().start(LaunchSpec(argv=(argv0,), cwd=tmp_path, limits=Limits()))
        assert words in str(caught.value) and reason in str(caught.value), str(caught.value)
        assert repr(argv0) in str(caught.value)


def test_a_sandbox_that_cannot_be_made_stops_the_start(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A pids cgroup the program cannot join: the program never runs, and the launcher says why."""
    from grader.launch import local

    gone = local.PidsCgroup(tmp_path / "gone", 2)
    monkeypatch.setattr(local.PidsCgroup, "create", classmethod(lambda cls, *a, **k: gone))
    marker = tmp_path / "ran"
    with pytest.raises(LaunchError, match="cannot prepare the program's sandbox: No such file"):
        LocalLauncher().start(LaunchSpec(argv=(sys.executable, "-c", f"open({str(marker)!r}, 'w')"),
                                         cwd=tmp_path, limits=Limits()))
    assert not marker.exists()
