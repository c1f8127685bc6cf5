"""Faults during ``sockgrade batch`` (issue 13), each on a real batch process: the grader
killed by SIGKILL mid-batch then ``--resume`` (every student exactly once, no program of the
killed run left running), the output folder's disk full or read-only (one line, exit 2, the
finished reports kept), and the Docker engine unreachable mid-batch (the rest are ``error``
rows, never failures, and the batch says so).

Every wait is on a real condition (a report file appearing, a program running, a process
gone) with a deadline.  The disk faults mount a small tmpfs (root, as in CI); the engine
fault points DOCKER_HOST at a proxy this test owns and closes, never at the real daemon.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from batchkit import QUICK_ARGS, REFERENCE
from helpers import BUGS
from test_batch import _leftovers, _sockgrade, _wait_for, manifest

from grader.classroom.gradebook import read_gradebook
from grader.launch import leftovers

IMAGE = "sockgrade/debian-python:bookworm"
SLOW = BUGS / "tcp-echo-server" / "never_replies.py"  # each takes reply timeouts


def _class(folder: Path, slow: int) -> list[str]:
    """A reference graded first, then ``slow`` never-replying servers; the student ids."""
    folder.mkdir()
    shutil.copy(REFERENCE, folder / "a-first.py")
    for n in range(slow):
        (folder / f"slow{n}").mkdir()
        shutil.copy(SLOW, folder / f"slow{n}" / "server.py")
        shutil.copy(BUGS / "tcp-echo-server" / "_threaded.py", folder / f"slow{n}")
    return ["a-first", *(f"slow{n}" for n in range(slow))]


def _scratch(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A TMPDIR of the batch's own: its staged programs run there (found by their cwd)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    return scratch, {**os.environ, "TMPDIR": str(scratch)}


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=30)


def _watchdogs(pid: int) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "grader.launch.watchdog" in cmd and str(pid) in cmd:
            found.append(proc.info["pid"])
    return found


# -- SIGKILL, then --resume -------------------------------------------------------------


def test_sigkill_mid_batch_then_resume_grades_every_student_once(tmp_path: Path) -> None:
    students = _class(tmp_path / "subs", slow=3)
    scratch, env = _scratch(tmp_path)
    out = tmp_path / "out"
    args = ("batch", "tcp-echo-server", tmp_path / "subs", "--out", out, "--jobs", "2",
            *QUICK_ARGS)
    proc = _sockgrade(*args, env=env)
    try:
        first = out / "students" / "a-first.json"
        in_flight: list[int] = []

        def killed_mid_batch() -> bool:  # one report written, student programs running
            in_flight[:] = _leftovers(scratch)
            return first.exists() and bool(in_flight) and proc.poll() is None

        assert _wait_for(killed_mid_batch, 60), "never one report written with others in flight"
        proc.kill()  # SIGKILL: no handler, no finally, no atexit
        proc.communicate(timeout=30)
    finally:
        _stop(proc)
    assert proc.returncode == -9
    # the killed run's programs are reaped by its watchdog at once, not by the next run
    assert _wait_for(lambda: not any(psutil.pid_exists(p) for p in in_flight)
                     and not _leftovers(scratch), 15), \
        f"programs of the killed run survived: {_leftovers(scratch)}"
    assert _wait_for(lambda: not _watchdogs(proc.pid), 15), "the watchdog did not exit"
    done_before = {p.name for p in (out / "students").glob("*.json")}
    assert "a-first.json" in done_before and len(done_before) < len(students)
    assert not (out / "gradebook.csv").exists()

    resumed = _sockgrade(*args, "--resume", env=env)
    try:
        stdout, stderr = resumed.communicate(timeout=240)
    finally:
        _stop(resumed)
    assert resumed.returncode == 0, stderr
    assert f"resume: {len(done_before)} already graded" in stdout
    rows = read_gradebook(out / "gradebook.csv")
    assert sorted(r["student"] for r in rows) == students  # each exactly once, none lost
    assert {r["student"]: r["status"] for r in rows} == {
        "a-first": "passed", **{s: "failed" for s in students[1:]}}
    info = manifest(out)
    assert info["graded"] + info["resumed"] == len(students)
    assert info["resumed"] == len(done_before)
    assert sorted(p.name for p in (out / "students").iterdir()) == sorted(
        f"{s}.{ext}" for s in students for ext in ("json", "junit.xml"))  # no stray temp files
    assert not _leftovers(scratch)
    assert not list(scratch.iterdir()), "staging copies were left behind"


# -- the output folder full or read-only -------------------------------------------------


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (root only), unmounted afterwards."""
    assert os.geteuid() == 0, "CI runs as root: the disk faults must be tested on a real tmpfs"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                   check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> None:
    """Write zeros until the file system says ENOSPC."""
    chunk = bytes(64 * 1024)
    with open(disk / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == 28, exc
    with contextlib.suppress(OSError), open(disk / "filler2", "wb", buffering=0) as handle:
        while True:  # the last blocks, one at a time
            handle.write(bytes(512))


def _remount_read_only(disk: Path) -> None:
    def remounted() -> bool:  # EBUSY while a report is being written: retry the real condition
        return subprocess.run(["mount", "-o", "remount,ro", str(disk)],
                              capture_output=True).returncode == 0

    assert _wait_for(remounted, 10), "could not remount read-only"


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
def test_output_folder_fault_mid_batch_is_one_line_and_keeps_finished_reports(
        tmp_path: Path, fault: str) -> None:
    _class(tmp_path / "subs", slow=2)
    scratch, env = _scratch(tmp_path)
    with _tmpfs(tmp_path / "disk", "2m") as disk:
        out = disk / "out"
        proc = _sockgrade("batch", "tcp-echo-server", tmp_path / "subs", "--out", out,
                          "--jobs", "1", *QUICK_ARGS, env=env)
        try:
            first = out / "students" / "a-first.json"
            assert _wait_for(lambda: first.exists() or proc.poll() is not None, 60), \
                "the first report never appeared"
            assert proc.poll() is None, proc.communicate()
            finished = {p.name: p.read_bytes() for p in (out / "students").iterdir()}
            if fault == "disk full":
                _fill(disk)
            else:
                _remount_read_only(disk)
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            _stop(proc)
        assert proc.returncode == 2, (stdout, stderr)
        assert "Traceback" not in stderr + stdout
        assert stderr.count("\n") == 1, stderr
        why = "no space left on device" if fault == "disk full" else "read-only file system"
        assert stderr.startswith(f"sockgrade: grader error: cannot write the reports in {out}: "
                                 f"{why}"), stderr
        assert "its 1 finished report(s) are kept" in stderr and "--resume" in stderr
        # the finished reports are kept, whole; nothing half-written beside them
        assert {p.name: p.read_bytes() for p in (out / "students").iterdir()} == finished
        assert json.loads(finished["a-first.json"])["status"] == "passed"
        assert not (out / "gradebook.csv").exists()
        assert _wait_for(lambda: not _leftovers(scratch), 10), "a student program survived"


def test_read_only_output_folder_is_one_line_before_grading(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    _class(tmp_path / "subs", slow=0)
    with _tmpfs(tmp_path / "disk", "1m") as disk:
        (disk / "out").mkdir()
        _remount_read_only(disk)
        assert main(["batch", "tcp-echo-server", str(tmp_path / "subs"), "--out",
                     str(disk / "out"), *QUICK_ARGS]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "read-only file system" in captured.err, captured.err
    assert "its 0 finished report(s) are kept" in captured.err
    assert "a-first" not in captured.out  # nobody was graded into a report that cannot be kept


# -- the Docker engine unreachable -----------------------------------------------------------


class EngineProxy:
    """A unix-socket proxy to the real Docker engine that the test can close mid-batch."""

    def __init__(self, path: Path, engine: str = "/var/run/docker.sock") -> None:
        self.path, self.engine = path, engine
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.engine)
            with self.lock:
                if self.closed:
                    client.close()
                    upstream.close()
                    return
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        """The engine is gone: no new connection, every open one cut."""
        with self.lock:
            self.closed = True
            conns, self.conns = self.conns, []
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.path.unlink(missing_ok=True)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def _running_containers(owner: str) -> list[str]:
    """Names of the running containers of the grader ``owner``, asked of the real engine."""
    import docker

    client = docker.from_env()
    try:
        # the engine's list alone: docker-py's containers.list() then inspects each container
        # (NotFound for one the batch removed in between)
        return [c["Names"][0].lstrip("/") for c in client.api.containers(
            filters={"label": f"{leftovers.OWNER_LABEL}={owner}", "status": "running"})]
    finally:
        client.close()


def _sweep_dead_graders() -> None:
    """Remove what a grader that lost its engine left on the real one (as 'sockgrade cleanup')."""
    import docker

    from grader.launch import cleanup

    client = docker.from_env()
    try:
        cleanup.sweep(client)
    finally:
        client.close()


@pytest.mark.docker
def test_engine_unreachable_mid_batch_gives_error_rows_and_says_so(tmp_path: Path) -> None:
    students = _class(tmp_path / "subs", slow=3)
    _scratch_dir, env = _scratch(tmp_path)
    proxy = EngineProxy(tmp_path / "engine.sock")
    out = tmp_path / "out"
    args = ("batch", "tcp-echo-server", tmp_path / "subs", "--out", out, "--jobs", "1",
            "--runner", "docker", "--image", IMAGE, *QUICK_ARGS)
    proc = _sockgrade(*args, env={**env, "DOCKER_HOST": f"unix://{proxy.path}"})
    try:
        first = out / "students" / "a-first.json"
        assert _wait_for(lambda: first.exists() or proc.poll() is not None, 120), \
            "the first report never appeared"
        assert proc.poll() is None, proc.communicate()
        owner = leftovers.owner_id(proc.pid)
        assert _wait_for(lambda: _running_containers(owner) or proc.poll() is not None, 60), \
            "slow0's container never ran"
        proxy.close()  # mid-batch: slow0 is being graded (its server runs), slow1 and slow2 wait
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        proxy.close()
        _stop(proc)
        _sweep_dead_graders()
    assert proc.returncode == 2, (stdout, stderr)
    assert "Traceback" not in stderr + stdout
    assert stderr.count("\n") == 1, stderr
    assert "became unreachable" in stderr and "3 submission(s) are error rows" in stderr, stderr
    assert "--resume" in stderr
    rows = {r["student"]: r for r in read_gradebook(out / "gradebook.csv")}
    assert sorted(rows) == students
    assert rows["a-first"]["status"] == "passed"
    for student in students[1:]:  # the one in flight and the ones after it
        row = rows[student]
        assert (row["status"], row["failed"], row["max"]) == ("error", "0", "0"), row
        assert "Docker engine" in row["note"] and "unreachable" in row["note"], row
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == {"passed": 1, "failed": 0, "error": 3}
    assert "unreachable" in manifest(out)["engine_unreachable"]
    assert "grader errors (not counted against the student" in stdout

    # the engine is back: --resume grades exactly the error rows again
    resumed = _sockgrade(*args, "--resume", env=env)
    try:
        stdout, stderr = resumed.communicate(timeout=300)
    finally:
        _stop(resumed)
    assert resumed.returncode == 0, stderr
    assert "resume: 1 already graded, 3 to grade" in stdout
    assert {r["student"]: r["status"] for r in read_gradebook(out / "gradebook.csv")} == {
        "a-first": "passed", **{s: "failed" for s in students[1:]}}
