"""The Docker launcher: it reports everything the local one does (readiness, start failures,
output caps, process observation), locks the container down, grades pinned ports in parallel,
and leaves nothing behind on any path — including Ctrl-C, SIGTERM and a killed grader."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from dockerkit import IMAGE, docker_image, docker_launcher, docker_leftovers  # noqa: F401
from helpers import BUGS, ROOT, TESTS, failed, grade, not_passed, unpassed_story, verdict

from grader.errors import GraderError
from grader.launch import leftovers, sandboxnet
from grader.launch.base import LaunchSpec, Limits, bound_endpoints, process_stats
from grader.launch.docker import PHASES, DockerLauncher
from grader.launch.local import LocalLauncher
from grader.readiness import wait_ready
from grader.verdict import Outcome

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_image")]
ECHO_BUGS = BUGS / "tcp-echo-server"


def test_reference_server_passes_every_probe_under_docker() -> None:
    with docker_launcher() as launcher:
        result = grade("tcp-echo-server", launcher=launcher)
    assert not_passed(result) == set()
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)  # resources/* included
    assert result.runner == "docker"
    assert result.command[0] == "python" and result.command[1].startswith("/submission/")
    assert docker_leftovers() == []


@pytest.mark.parametrize(("bug", "words"), [
    ("python2", "crashed at start (exit status 1)"),
    ("exits_immediately", "exited with status 0 before serving"),
    ("hardcoded_port", "listens on 0.0.0.0:65432, not on"),
])
def test_start_failures_are_classified_as_locally(bug: str, words: str) -> None:
    program = ECHO_BUGS / f"{bug}.py"
    with docker_launcher() as launcher, ThreadPoolExecutor(2) as pool:
        in_docker = pool.submit(grade, "tcp-echo-server", program, launcher=launcher)
        local = pool.submit(grade, "tcp-echo-server", program, launcher=LocalLauncher())
        results = {"docker": in_docker.result(), "local": local.result()}
    for runner, result in results.items():
        start = verdict(result, "startup/listens")
        assert start.outcome is Outcome.FAILED, runner
        assert words in start.reason, (runner, start.reason)
    assert not_passed(results["docker"]) == not_passed(results["local"])
    assert len({verdict(r, "startup/listens").hint for r in results.values()}) == 1
    if bug == "python2":  # the stderr tail travels with the verdict
        lines = verdict(results["docker"], "startup/listens").evidence.lines()
        assert any("SyntaxError" in line for line in lines)
    assert docker_leftovers() == []


def test_client_lab_reference_and_a_bug_under_docker() -> None:
    with docker_launcher() as launcher:
        reference = grade("tcp-echo-client", launcher=launcher)
        buggy = grade("tcp-echo-client", BUGS / "tcp-echo-client" / "traceback_on_error.py",
                      launcher=launcher)
        starved = grade("tcp-echo-client", TESTS / "programs" / "starved_single_recv_client.py",
                        launcher=launcher, select=("echo/*", "partial/slow-echo"))
    assert not_passed(reference) == set() and reference.status == "passed", unpassed_story(reference)
    assert not_passed(buggy) == {"errors/closed-early", "errors/refused"}, unpassed_story(buggy)
    assert "traceback" in verdict(buggy, "errors/refused").reason
    # the split echo is paced by the client's receive queue, looked up in its container
    slow = verdict(starved, "partial/slow-echo")
    assert not_passed(starved) == {"partial/slow-echo"} and "only part" in slow.reason, \
        unpassed_story(starved)
    assert any("each once the program had read the one before" in line
               for line in slow.transcript), list(slow.transcript)
    assert docker_leftovers() == []


def test_a_client_starved_of_cpu_is_waited_for_and_never_failed_for_it() -> None:
    """Under a 2% CPU quota, a client that needs 0.09 CPU s before it connects is still
    runnable with little CPU used at the 5 s deadline: the wait goes on (the transcript says
    why) and it passes, for its connection and for its exit.  A client that spins instead of
    connecting is still starved at twice the wait: an error (the machine's fault), never a
    failure; unstarved, it fails (see test_tcp_echo_client)."""
    programs = ("slow_start_client.py", "spins_before_connecting_client.py")
    with docker_launcher(cpus=0.02) as launcher, ThreadPoolExecutor(2) as pool:
        slow, spinner = pool.map(
            lambda name: grade("tcp-echo-client", TESTS / "programs" / name, launcher=launcher,
                               select=("echo/prints-echo", "errors/refused")), programs)
    # waited for twice: for its connection, and (refused) for its exit after the 5 s it may run
    for name, found in (("echo/prints-echo", "no connection"), ("errors/refused", "still running")):
        waited = verdict(slow, name)
        assert waited.outcome is Outcome.PASSED, "\n".join((name, waited.reason, *waited.transcript))
        assert any(f"{found} after 5 s, but the client was runnable" in line
                   and "starved of CPU, not stuck" in line for line in waited.transcript), (
            waited.transcript)
        assert any("the client got on" in line for line in waited.transcript), waited.transcript
    spun = verdict(spinner, "echo/prints-echo")
    assert spun.outcome is Outcome.ERROR, (spun.outcome, spun.reason)
    assert verdict(spinner, "errors/refused").outcome is Outcome.ERROR
    assert "still starved of CPU after a 5 s wait" in spun.reason, spun.reason
    assert docker_leftovers() == []


def test_a_server_starved_of_cpu_at_its_start_is_waited_for_and_never_failed_for_it() -> None:
    """Under a 2% CPU quota, a server that needs 0.09 CPU s before it listens is still runnable
    with little CPU used at the 5 s startup deadline: it is waited for (the transcript says
    why) and starts.  One that spins instead of listening is still starved at twice the
    deadline: an error, and its dependents skipped as the grader's fault, never failed."""
    programs = ("slow_start_server.py", "spins_before_listening_server.py")
    with docker_launcher(cpus=0.02) as launcher, ThreadPoolExecutor(2) as pool:
        slow, spinner = pool.map(
            lambda name: grade("tcp-echo-server", TESTS / "programs" / name, launcher=launcher,
                               select=("startup/*",)), programs)
    started = verdict(slow, "startup/listens")
    assert started.outcome is Outcome.PASSED, "\n".join((started.reason, *started.transcript))
    assert any("starved of CPU at the 5 s startup deadline" in line
               for line in started.transcript), started.transcript
    spun = verdict(spinner, "startup/listens")
    assert spun.outcome is Outcome.ERROR, (spun.outcome, spun.reason)
    assert "still starved of CPU" in spun.reason, spun.reason
    assert docker_leftovers() == []


def test_a_reply_from_a_server_starved_of_cpu_is_waited_for_and_never_failed_for_it() -> None:
    """Under a 2% CPU quota, a server that works 0.05 CPU s on a message before echoing it is
    still runnable, without a tenth of a CPU second used, at the 2 s reply deadline: the read
    goes on (the transcript says why) and the echo passes.  One that spins on the message
    instead is still starved another reply timeout later: an error, never a failure.  With
    the CPU (locally) the spinner fails the echo: it had its chance."""
    programs = ("slow_reply_server.py", "spins_on_message_server.py")
    with docker_launcher(cpus=0.02) as launcher, ThreadPoolExecutor(2) as pool:
        slow, spinner = pool.map(
            lambda name: grade("tcp-echo-server", TESTS / "programs" / name, launcher=launcher,
                               select=("startup/*", "echo/one-message")), programs)
    echoed = verdict(slow, "echo/one-message")
    assert echoed.outcome is Outcome.PASSED, "\n".join((echoed.reason, *echoed.transcript))
    assert any("a read's deadline passed with the program running or waiting for a CPU" in line
               for line in echoed.transcript), echoed.transcript
    spun = verdict(spinner, "echo/one-message")
    assert spun.outcome is Outcome.ERROR, (spun.outcome, spun.reason, spun.transcript)
    assert "starved of CPU" in spun.reason, spun.reason
    unquoted = grade("tcp-echo-server", TESTS / "programs" / "spins_on_message_server.py",
                     select=("startup/*", "echo/one-message"))
    assert failed(unquoted) == {"echo/one-message"}, unpassed_story(unquoted)
    assert docker_leftovers() == []


def test_hard_coded_port_grades_in_parallel_in_separate_containers() -> None:
    program = ECHO_BUGS / "hardcoded_port.py"
    with docker_launcher() as launcher, ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: grade("tcp-echo-server", program, launcher=launcher,
                                             port=65432), range(2)))
    for result in runs:
        assert not_passed(result) == set()
        # each lane got its own container on the pinned port: nothing was merged
        assert not any("share one server instance" in note for note in result.notes)
    assert docker_leftovers() == []


OBSERVED = textwrap.dedent("""\
    import os, socket, subprocess, sys, threading, time
    server = socket.socket()
    server.bind((sys.argv[1], int(sys.argv[2])))
    server.listen()
    child = subprocess.Popen(["python", "-c", "import time; time.sleep(600)"])
    for _ in range(3):
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
    print("started", flush=True)
    open("written-here.txt", "w").write("the working folder is writable")
    print(os.getuid(), os.getcwd(), open("written-here.txt").read(), flush=True)
    sys.stderr.write("to stderr\\n")
    data = sys.stdin.read()  # blocks until the grader closes stdin
    print("stdin closed after", len(data), "bytes", flush=True)
    child.kill()
    sys.exit(7)
""")


def _digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        sha.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            sha.update(path.read_bytes())
    return sha.hexdigest()


def test_program_protocol_observation_stdin_and_exit_status(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text(OBSERVED)
    before = _digest(tmp_path)
    with docker_launcher() as launcher:
        spec = LaunchSpec(argv=("python", "/submission/server.py", "127.0.0.1", "5555"),
                          cwd=tmp_path, limits=Limits())
        program = launcher.start(spec)
        try:
            start = wait_ready(program, proto="tcp", host="127.0.0.1", port=5555, timeout=10)
            assert start.ready, start.reason
            host, port = program.address(5555)
            assert (host, port) == ("127.0.0.1", 5555)  # the container's own loopback...
            with program.socket() as probe:  # ...reached from inside its network namespace
                probe.settimeout(5)
                probe.connect((host, port))
            deadline = time.monotonic() + 10
            while b"65534" not in program.output().stdout and time.monotonic() < deadline:
                time.sleep(0.01)  # polls the real condition: the program's report line
            pids = program.pids()
            assert len(pids) == 2  # the server and its child, as host PIDs
            assert psutil.Process(pids[1]).ppid() == pids[0]
            stats = process_stats(pids)
            assert stats is not None and stats.processes == 2 and stats.threads >= 5
            assert [e.port for e in bound_endpoints(pids)] == [5555]  # the container's netns
            assert program.poll() is None  # stdin stays open: the program waits on it
            out = program.output().stdout.decode()
            assert "65534 /submission the working folder is writable" in out
            program.close_stdin()
            assert program.wait(10) == 7
            assert b"stdin closed after 0 bytes" in program.output().stdout
            assert program.output().stderr == b"to stderr\n"
            assert program.pids() == []
        finally:
            program.stop()
    assert set(program.phases) == set(PHASES)  # where the launch's time went, by phase
    assert all(program.phases[phase] > 0 for phase in ("network", "create", "start", "stop"))
    assert _digest(tmp_path) == before  # the original folder was copied, never written
    assert docker_leftovers() == []


def test_container_is_locked_down_with_command_line_limits(tmp_path: Path) -> None:
    (tmp_path / "idle.py").write_text("import time\ntime.sleep(600)\n")
    with docker_launcher(cpus=0.5, memory=64 * 2**20, pids=16) as launcher:
        program = launcher.start(LaunchSpec(argv=("python", "idle.py"), cwd=tmp_path))
        try:
            client = launcher.client
            info = client.api.containers(filters={"label": f"{leftovers.RUN_LABEL}="
                                                            f"{launcher.run_id}"})[0]
            attrs = client.api.inspect_container(info["Id"])
            host, config = attrs["HostConfig"], attrs["Config"]
            assert host["ReadonlyRootfs"] is True
            assert host["CapDrop"] == ["ALL"]
            assert "no-new-privileges" in host["SecurityOpt"]
            assert host["PidsLimit"] == 16
            assert host["Memory"] == host["MemorySwap"] == 64 * 2**20
            assert host["NanoCpus"] == 500_000_000
            assert config["User"] == "65534:65534"
            assert config["Labels"][leftovers.LABEL] == "1"
            assert config["Labels"][leftovers.OWNER_LABEL] == leftovers.owner_id()
            network = client.api.inspect_network(host["NetworkMode"])
            assert network["Internal"] is True
            assert network["Labels"][leftovers.LABEL] == "1"
            assert list(network["Containers"]) == [info["Id"]]  # no other container on it
        finally:
            program.stop()
    assert docker_leftovers() == []


def test_a_missing_image_is_one_clear_line() -> None:
    launcher = DockerLauncher(image="sockgrade/no-such-image:never")
    try:
        with pytest.raises(GraderError) as caught:
            launcher.check()
    finally:
        launcher.close()
    text = str(caught.value)
    assert "\n" not in text
    assert "sockgrade/no-such-image:never" in text and ".ci/build-image" in text


def test_cli_docker_flags_and_assignment_image(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "grader", "check", "tcp-echo-server", "--reference",
         "--runner", "docker", "--image", IMAGE, "--cpus", "1", "--memory", "128", "--pids", "32",
         "--select", "echo/one-message"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "grader", "check", "tcp-echo-server", "--reference",
         "--runner", "docker", "--image", "sockgrade/no-such-image:never"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and ".ci/build-image" in missing.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "grader", "check", "tcp-echo-server", "--reference",
         "--runner", "docker", "--image", IMAGE, "--memory", "1"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert bad.returncode == 2 and "--memory" in bad.stderr


# -- every path out of a run removes its containers and networks ---------------------------


def _grader_in_background() -> subprocess.Popen[str]:
    """A full Docker grading of the reference server (several seconds, several containers)."""
    return subprocess.Popen(
        [sys.executable, "-m", "grader", "check", "tcp-echo-server", "--reference",
         "--runner", "docker", "--image", IMAGE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for_containers(owner: str, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [x for x in docker_leftovers(owner) if x.startswith("container")]
        if found:
            return found
        time.sleep(0.05)  # polls the real condition: the grader's first container
    raise AssertionError("the grader started no container")


def _owner(proc: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            return leftovers.owner_id(proc.pid)
        except psutil.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_grader_removes_everything(signum: int) -> None:
    proc = _grader_in_background()
    owner = _owner(proc)
    try:
        _wait_for_containers(owner)
        os.kill(proc.pid, signum)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (130, 128 + signal.SIGTERM), proc.stderr.read() if proc.stderr else ""
    assert docker_leftovers(owner) == []


def test_cleanup_removes_what_a_killed_grader_left() -> None:
    proc = _grader_in_background()
    owner = _owner(proc)
    try:
        _wait_for_containers(owner)
        proc.kill()  # SIGKILL: no handler runs, the containers stay
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert docker_leftovers(owner) != []
    run = subprocess.run([sys.executable, "-m", "grader", "cleanup"], capture_output=True,
                         text=True, cwd=ROOT, check=False, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "removed" in run.stdout
    assert docker_leftovers(owner) == []


def test_cleanup_stops_a_killed_graders_last_firewall_command_before_its_chain_goes() -> None:
    """A grader killed outright leaves its last iptables command running, and a jump that lands
    after the sweep's listing keeps the chain (seen in CI: ``chain SOCKGRADE-...`` left).  The
    sweep kills such a command (found by its owner in its environment) before it lists the rules."""
    gone = subprocess.Popen(["sleep", "30"])
    owner = leftovers.owner_id(gone.pid)
    gone.kill()
    gone.wait()
    suffix = os.urandom(5).hex()
    chain, bridge = sandboxnet.CHAIN_PREFIX + suffix, sandboxnet.BRIDGE_PREFIX + suffix
    sandboxnet.install_chain(bridge, chain, [], owner=owner)
    # the killed grader's last command, held before it runs: one more jump to the chain
    jump = ["-I", "FORWARD", "1", "-i", bridge, "-m", "comment", "--comment",
            sandboxnet.comment(owner), "-j", chain]
    inflight = subprocess.Popen(
        ["sh", "-c", 'kill -STOP $$; exec "$0" "$@"', shutil.which("iptables") or "iptables",
         "-w", *jump], env={**os.environ, sandboxnet.OWNER_VAR: owner}, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while psutil.Process(inflight.pid).status() != psutil.STATUS_STOPPED:
            assert time.monotonic() < deadline, "the held command never stopped"
            time.sleep(0.01)  # polls the real condition: the shell has stopped itself
        assert sandboxnet.chain_owners().get(chain) == owner
        removed, problems = sandboxnet.remove_stale_chains(keep=set())
        assert problems == [] and removed >= 1
        # the sweep killed it (and, its parent being this test, reaped it), so it never ran
        assert not psutil.pid_exists(inflight.pid)
        rules = sandboxnet.iptables("-S").stdout
        assert chain not in sandboxnet.chain_owners() and chain not in rules, rules
    finally:
        if inflight.poll() is None:
            inflight.kill()
            inflight.wait()
        sandboxnet.remove_chain(bridge, chain, owner=owner)


def test_a_sweep_leaves_a_chain_being_installed_while_its_bridge_exists() -> None:
    """A chain no rule of which names its owner yet is one a grader is installing (its network,
    and so its bridge, made first) unless its bridge is gone.  A sweep that listed the networks
    just before that network was made once removed it under the grader (CI: "iptables -A
    SOCKGRADE-...: No chain/target/match by that name", an error row)."""
    suffix = os.urandom(5).hex()
    chain, bridge = sandboxnet.CHAIN_PREFIX + suffix, sandboxnet.BRIDGE_PREFIX + suffix
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    try:
        sandboxnet.iptables("-N", chain)
        assert sandboxnet.chain_owners().get(chain, "missing") is None
        sandboxnet.remove_stale_chains(keep=set())
        assert chain in sandboxnet.chain_owners()  # its bridge exists: being installed
    finally:
        subprocess.run(["ip", "link", "del", bridge], check=False)
    sandboxnet.remove_stale_chains(keep=set())
    assert chain not in sandboxnet.chain_owners()  # its bridge gone: a leftover, removed
