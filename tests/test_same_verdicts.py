"""Same program, same verdicts: programs written like the handouts (a fixed port on
``localhost`` without SO_REUSEADDR, a crash on one probe, a log line per chunk, a 1 GB
printer) get the same verdicts first or fifth, on a shared loopback, in network namespaces
and in Docker; the grader never hangs on an assignment file and leaves no program behind on
any signal."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dockerkit import IMAGE, docker_image, docker_launcher  # noqa: F401
from helpers import ROOT, TESTS, errors, failed, grade, signature, skipped, verdict
from test_cli import one_line_error, sockgrade

from grader.assignment import ASSIGNMENTS_DIR, load
from grader.bundle import REFERENCE_DIR
from grader.launch import netns, portuse
from grader.launch.local import LocalLauncher
from grader.verdict import Outcome

HANDOUT = TESTS / "handout"
CAESAR = HANDOUT / "fixed_port_caesar.py"
LOOPBACK = HANDOUT / "loopback_echo.py"
#: What the handout Caesar server fails: it handles no reset (reading or sending).
RESETS = {"robustness/client-reset", "robustness/reset-before-reply"}


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", **extra}
    env.pop("SOCKGRADE_SEED", None)
    return env


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "gradebook.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return [{k: v for k, v in row.items() if k not in ("student", "name", "source", "note")}
            for row in rows]


def _notes(out: Path) -> list[str]:
    """Each gradebook row's note: why a row differs (a grader error names its cause)."""
    with (out / "gradebook.csv").open() as handle:
        return [f"{row['student']}: {row['note']}" for row in csv.DictReader(handle)]


def _verdicts(out: Path, student: str) -> dict[str, str]:
    report = json.loads((out / "students" / f"{student}.json").read_text())
    return {p["id"].split("/", 1)[1]: p["outcome"] for p in report["probes"]}


# -- 1. pinned ports and TIME_WAIT ---------------------------------------------------------
# Tests that pin a port on the grader's own loopback share one xdist group: on one worker
# they run one after another, as two of them on one port at once would collide.


@pytest.mark.xdist_group("pinned-ports-on-the-shared-loopback")
def test_a_fixed_port_server_graded_five_times_on_a_shared_loopback_gets_the_same_verdicts() -> None:
    """The server closes every connection first and crashes on the reset probes: each of five
    gradings in a row restarts it on its pinned port and runs every later probe."""
    held = portuse.port_use(10000).holders
    assert not held, ("port 10000 is held before the first grading", [_describe(h) for h in held])
    runs = []
    for _ in range(5):
        runs.append(grade("caesar-server", CAESAR, port=10000,
                          launcher=LocalLauncher(own_network=False)))
        left = _running(CAESAR.name)
        assert left == [], [_describe(f"pid {pid}") for pid in left]  # nothing outlives a grading
    for result in runs:
        assert failed(result) == RESETS, "\n".join(sorted({v.reason for v in result.verdicts}))
        assert skipped(result) == set() and errors(result) == set()
        assert any("restarted on the same pinned port" in note for note in result.notes)
    assert len({tuple(signature(r)) for r in runs}) == 1


@pytest.mark.xdist_group("pinned-ports-on-the-shared-loopback")
@pytest.mark.docker
@pytest.mark.usefixtures("docker_image")
def test_a_class_of_fixed_port_servers_gets_identical_rows_in_every_network_mode(
        tmp_path: Path) -> None:
    """Five copies, batch-graded on a shared loopback (one at a time), in network namespaces
    (two at a time) and in Docker (two at a time): every row is the same."""
    folder = tmp_path / "class"
    folder.mkdir()
    for index in range(5):
        shutil.copy(CAESAR, folder / f"pinned{os.getpid()}_{index}.py")  # names no other test runs
    modes = {
        "shared": (["--jobs", "2"], {netns.ENV_SWITCH: "0"}),
        "namespaces": (["--jobs", "2"], {}),
        "docker": (["--jobs", "2", "--runner", "docker", "--image", IMAGE], {}),
    }
    rows = {}
    for mode, (options, env) in modes.items():
        out = tmp_path / mode
        batch = subprocess.Popen([sys.executable, "-m", "grader", "batch", "caesar-server",
                                  str(folder), "--port", "10000", "--out", str(out), *options],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 cwd=ROOT, env=_env(**env))
        stdout, stderr = batch.communicate(timeout=600)
        run = subprocess.CompletedProcess(batch.args, batch.returncode, stdout, stderr)
        assert run.returncode == 0, run.stdout + run.stderr
        # the batch has exited: no student's program may still run, nor a copy of the batch
        # forked to start one, nor a pids cgroup of the batch (a program left on the pinned
        # port was seen under the full suite's load, holding it for the next test)
        left = _running(f"pinned{os.getpid()}_") + [
            proc.pid for proc in psutil.process_iter(["cmdline"])
            if str(folder) in " ".join(proc.info["cmdline"] or ()) and proc.pid != os.getpid()]
        groups = [str(path) for path in cgroup_dirs(batch.pid)]
        assert left == [] and groups == [], (mode, [_describe(f"pid {pid}") for pid in left],
                                             groups)
        rows[mode] = _rows(out)
        assert len(rows[mode]) == 5 and all(row == rows[mode][0] for row in rows[mode]), (
            mode, rows[mode], _notes(out), run.stdout[-2000:])
        verdicts = _verdicts(out, f"pinned{os.getpid()}_3")
        assert {name for name, outcome in verdicts.items() if outcome != "passed"} == RESETS, (
            mode, verdicts, _notes(out))
    assert rows["shared"] == rows["namespaces"] == rows["docker"]


def test_a_port_held_by_another_process_is_a_grader_error_naming_it() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "grader", "check", "tcp-echo-server",
                              str(HANDOUT / "fixed_port_echo.py"), "--port", str(port)],
                             capture_output=True, text=True, timeout=120, cwd=ROOT,
                             env=_env(**{netns.ENV_SWITCH: "0"}))
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"is held by another process: pid {os.getpid()}" in run.stdout, run.stdout
    assert "SO_REUSEADDR" not in run.stdout and "Traceback" not in run.stderr


# -- 2 and 3. local and Docker agree; namespaces -----------------------------------------


@pytest.mark.xdist_group("pinned-ports-on-the-shared-loopback")
@pytest.mark.docker
@pytest.mark.usefixtures("docker_image")
def test_a_loopback_only_server_gets_the_same_verdicts_under_every_runner() -> None:
    shared = grade("tcp-echo-server", LOOPBACK, port=65432, launcher=LocalLauncher(own_network=False))
    spaced = grade("tcp-echo-server", LOOPBACK, port=65432, launcher=LocalLauncher(own_network=True))
    with docker_launcher() as launcher:
        boxed = grade("tcp-echo-server", LOOPBACK, port=65432, launcher=launcher)
    assert failed(shared) == {"concurrency/second-client", "robustness/client-reset",
                              "robustness/reset-before-reply", "robustness/reset-during-reply"}
    assert signature(shared) == signature(spaced) == signature(boxed)


def test_namespaces_are_available_to_root_and_reported() -> None:
    assert netns.available() == (os.geteuid() == 0)
    result = grade("tcp-echo-server", LOOPBACK, port=65432, select=("echo/one-message",))
    mode = "own" if netns.available() else "share this machine's loopback"
    assert any(mode in note for note in result.notes), result.notes


# -- 4. output never blocks the program ----------------------------------------------------


def test_a_server_that_logs_every_chunk_is_never_blocked_by_its_output(tmp_path: Path) -> None:
    # One backpressure round, not three: its later rounds are there to catch a partial send(),
    # not this test's subject, and each 16 MiB round costs this program about 8 s of CPU
    # (500,000 log lines); one round still logs some 60 MiB, a thousand pipe buffers.
    text = (ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text()
    section = '[probes."partial/backpressure"]\n'
    assert section in text
    assignment = tmp_path / "tcp-echo-one-round.toml"
    assignment.write_text(text.replace(section, section + "params = { rounds = 1 }\n", 1))
    assert load(str(assignment)).probe("partial/backpressure").params["rounds"] == 1
    result = grade(str(assignment), HANDOUT / "chatty_logger.py",
                   select=("partial/*", "echo/*", "shutdown/*"))
    assert failed(result) == set() and skipped(result) == set(), result.notes
    # on a slow or loaded machine its 32-byte echo of 16 MiB can outlast a probe's time
    # limit while still correct: that is no verdict, never a failure, and nothing else errs
    assert all(v.reason.startswith("no verdict: ") for v in result.verdicts
               if v.outcome is Outcome.ERROR), [v.reason for v in result.verdicts]
    assert result.output.stderr_total > 32 * 1024 * 1024
    assert len(result.output.stderr) < 1024 * 1024  # the head and tail kept, the rest counted


def test_a_1gb_printer_is_graded_with_the_graders_memory_bounded(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    # It writes its 1 GiB before it listens: a loaded machine takes longer than the usual 5 s
    # startup deadline for that.  This test is about the grader's memory, so the deadline is
    # the assignment file's (a teacher's) 120 s.
    text = (ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text()
    assert "\nstartup = 5.0" in text
    assignment = tmp_path / "tcp-echo-slow-start.toml"
    assignment.write_text(text.replace("\nstartup = 5.0", "\nstartup = 120.0", 1))
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's (pytest's) high-water mark
    code = ("import sys\nfrom grader.cli import main\n"
            "status = main(sys.argv[1:])\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
            "print('maxrss-kib', hwm, file=sys.stderr)\n"
            "sys.exit(status)\n")
    run = subprocess.run([sys.executable, "-c", code, "check", str(assignment),
                          str(TESTS / "programs" / "prints_1gb.py"), "--select", "echo/*",
                          "--json", str(report)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=_env())
    assert run.returncode == 0, run.stdout + run.stderr
    output = json.loads(report.read_text())["output"]
    assert output["stdout_bytes"] >= 2**30  # drained to the end...
    assert len(output["stdout"]) < 256 * 1024  # ...keeping only the head and tail
    maxrss_kib = int(run.stderr.split("maxrss-kib")[1].split()[0])
    assert maxrss_kib < 300 * 1024, maxrss_kib


# -- 5. assignment files never hang the grader ---------------------------------------------


def _probe_blocks(text: str) -> tuple[str, list[str]]:
    head, _, rest = text.partition("[probes.")
    return head, ["[probes." + block for block in rest.split("[probes.")]


def test_probes_listed_before_their_dependencies_run_after_them(tmp_path: Path) -> None:
    head, blocks = _probe_blocks((ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text())
    reversed_file = tmp_path / "reversed.toml"
    reversed_file.write_text(head + "".join(reversed(blocks)))
    assignment = load(str(reversed_file))
    order = [c.name for c in assignment.probes]
    for config in assignment.probes:
        assert all(order.index(dep) < order.index(config.name) for dep in config.spec.depends)
    result = grade(str(reversed_file))
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert sorted(signature(result)) == sorted(signature(grade("tcp-echo-server")))


def test_a_file_without_probes_runs_its_whole_suite_and_a_bad_id_is_one_line(
        tmp_path: Path) -> None:
    head, _ = _probe_blocks((ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text())
    bare = tmp_path / "bare.toml"
    bare.write_text(head)
    listed = sockgrade("list", str(bare))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("tcp-echo-server/") == len(load("tcp-echo-server").probes)
    slashed = tmp_path / "slashed.toml"
    slashed.write_text((ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text()
                       .replace('id = "tcp-echo-server"', 'id = "course/echo"'))
    one_line_error(sockgrade("check", str(slashed), "--reference"), "'id'", "course/echo")


def test_an_unwritable_report_path_is_one_line_before_grading(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    one_line_error(sockgrade("check", "tcp-echo-server", "--reference",
                             "--junit", str(blocker / "report.xml")), "cannot write report")


# -- 6. every signal ends what we started --------------------------------------------------


def cgroup_dirs(grader: int) -> list[Path]:
    """The pids cgroups the grader process ``grader`` made that still exist."""
    found: list[Path] = []
    for base in (Path("/sys/fs/cgroup/pids/sockgrade"), Path("/sys/fs/cgroup/sockgrade")):
        if base.is_dir():
            found += sorted(base.glob(f"{grader}-*"))
    return found


def _describe(holder: str) -> str:
    """A process named ``"pid N (...)"``: its parent, age, state, cgroup and grader marks."""
    try:
        pid = int(holder.split()[1])
        proc = psutil.Process(pid)
        with proc.oneshot():
            env = proc.environ()
            marks = {k: env.get(k) for k in ("SOCKGRADE_GRADER", "SOCKGRADE_RUN_TOKEN")}
            groups = Path(f"/proc/{pid}/cgroup").read_text().split()
            return (f"{holder}: ppid {proc.ppid()}, status {proc.status()}, "
                    f"age {time.time() - proc.create_time():.1f} s, "
                    f"cmdline {' '.join(proc.cmdline())!r}, marks {marks}, "
                    f"cgroup {[g for g in groups if 'pids' in g or g.startswith('0::')]}")
    except (psutil.Error, OSError, ValueError, IndexError) as exc:
        return f"{holder}: ({exc})"


def _running(marker: str) -> list[int]:
    """Live processes (not sockgrade itself) whose command line contains ``marker``."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        words = " ".join(proc.info["cmdline"] or ())
        if marker in words and "-m grader" not in words and proc.pid != os.getpid():
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc.pid)
            except psutil.Error:
                continue
    return found


def _wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # polls the real condition (the process table); bounded
    return bool(predicate())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_check_stops_every_program_it_started(tmp_path: Path, sig: int) -> None:
    program = tmp_path / f"server_{sig}_{os.getpid()}.py"
    shutil.copy(REFERENCE_DIR / "tcp_echo_server.py", program)
    proc = subprocess.Popen([sys.executable, "-m", "grader", "check", "tcp-echo-server", str(program)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _running(program.name), 30), "the server never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert b"Traceback" not in err
    assert _wait_for(lambda: not _running(program.name), 10), _running(program.name)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_reference_stops_the_reference(sig: int) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
    marker = f"tcp_echo_server.py 127.0.0.1 {port}"
    proc = subprocess.Popen([sys.executable, "-m", "grader", "reference", "tcp-echo-server",
                             "--port", str(port)], cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _running(marker), 30), "the reference never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert _wait_for(lambda: not _running(marker), 10), _running(marker)


def test_a_correct_server_slower_than_a_time_limit_gets_no_verdict(tmp_path: Path) -> None:
    """The grader's cap neither fails nor passes a correct server still echoing when it ends:
    an excused error that says so (a server that loses bytes still fails: send_not_sendall's
    known-bug test)."""
    text = (ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text()
    marker = '[probes."partial/backpressure"]\nweight = 1\n'
    assert marker in text
    assignment = tmp_path / "tcp-echo-short-limit.toml"
    assignment.write_text(text.replace(marker, marker + "timeout = 4.0\n", 1))
    result = grade(str(assignment), TESTS / "programs" / "slow_echo.py",
                   select=("echo/one-message", "partial/backpressure"))
    assert failed(result) == set() and skipped(result) == set()
    assert errors(result) == {"partial/backpressure"}
    reason = verdict(result, "partial/backpressure").reason
    assert reason.startswith("no verdict: ") and "all correct and still arriving" in reason, reason
    assert verdict(result, "partial/backpressure").excused
