"""The sandbox network: the grader reaches the submission, and the submission reaches nothing
else — no host service, no other container, nothing off the machine, no name server — except
the grader's own listener it was started for (client labs)."""

from __future__ import annotations

import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from dockerkit import IMAGE, docker_image, docker_launcher, docker_leftovers  # noqa: F401
from helpers import TESTS, grade, not_passed

from grader.bundle import REFERENCE_DIR
from grader.launch.base import LaunchSpec
from grader.launch.local import LocalLauncher
from grader.readiness import wait_ready

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_image")]
CONNECT_OUT = TESTS / "hostile" / "connect_out.py"
QUICK = ("startup/*", "echo/one-message")


class HostService:
    """A TCP service on all of the host's addresses that counts who connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.peers: list[tuple[str, int]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.peers.append(peer)
            conn.close()

    def close(self) -> None:
        self.sock.close()


@contextmanager
def plain_container() -> Iterator[tuple[str, int]]:
    """A container that is not sockgrade's, on Docker's default bridge, serving TCP port 8000."""
    import docker

    client = docker.from_env()
    container = client.containers.run(
        IMAGE, ["python", "-m", "http.server", "8000"], detach=True,
        labels={"sockgrade.test": "victim"})
    try:
        container.reload()
        ip = container.attrs["NetworkSettings"]["IPAddress"]
        deadline = time.monotonic() + 20
        while True:  # the host reaches it: it is a live target
            try:
                socket.create_connection((ip, 8000), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # polls the real condition: the server listening
        yield ip, 8000
    finally:
        container.remove(force=True)
        client.close()


def _host_addresses() -> list[str]:
    return sorted({a.address for addrs in psutil.net_if_addrs().values() for a in addrs
                   if a.family == socket.AF_INET and not a.address.startswith("127.")})


def test_a_submission_connecting_out_reaches_nothing(tmp_path: Path) -> None:
    service = HostService()
    try:
        with docker_launcher() as launcher, plain_container() as (plain_ip, plain_port):
            # another sockgrade container, live and reachable from the host
            victim = launcher.start(LaunchSpec(
                argv=("python", "/submission/tcp_echo_server.py", "0.0.0.0", "7000"),
                cwd=REFERENCE_DIR))
            try:
                assert wait_ready(victim, proto="tcp", host="0.0.0.0", port=7000,
                                  timeout=10).ready
                socket.create_connection((victim.ip, 7000), timeout=2).close()
                anchor = launcher.listen_host  # the grader's own listener address, too
                hosts = sorted({*_host_addresses(), anchor})
                targets = [f"{h}:{service.port}" for h in hosts]
                targets += [f"gateway:{service.port}", f"{victim.ip}:7000",
                            f"{plain_ip}:{plain_port}", "1.1.1.1:53", "1.1.1.1:443"]
                # it tries every target (up to 1 s each) before it listens: the startup
                # deadline is a teacher's longer one, as this test is about where it connects
                result = grade("tcp-echo-server", CONNECT_OUT, launcher=launcher,
                               select=QUICK, extra=tuple(targets), startup=60.0)
            finally:
                victim.stop()
        # the grader reached the submission...
        assert not_passed(result) == set(), [(v.probe_id, v.reason, v.evidence.lines()[-8:])
                                             for v in result.verdicts]
        # ...and the submission reached nothing, and said so
        lines = result.output.stdout.decode().splitlines()
        attempts = [line for line in lines if line.startswith("connect-out ")]
        assert len(attempts) == len(targets), lines
        assert all(": blocked (" in line for line in attempts), attempts
        assert service.peers == []
        # the same program graded locally on the shared loopback does reach the host service:
        # the targets were live
        local = grade("tcp-echo-server", CONNECT_OUT, launcher=LocalLauncher(own_network=False),
                      select=QUICK, startup=60.0,
                      extra=(f"{_host_addresses()[0]}:{service.port}",))
        assert b": connected" in local.output.stdout
        assert len(service.peers) == 1
    finally:
        service.close()
    assert docker_leftovers() == []


CLIENT = textwrap.dedent("""\
    import socket, sys
    host, mine, other = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for port in (mine, other):
        try:
            socket.create_connection((host, port), timeout=2).close()
            print(port, "connected", flush=True)
        except OSError as exc:
            print(port, "blocked", repr(exc), flush=True)
    try:
        print("dns", socket.getaddrinfo("deb.debian.org", 80)[0][4], flush=True)
    except OSError as exc:
        print("dns blocked", repr(exc), flush=True)
""")


def test_a_client_reaches_only_the_listener_it_was_started_for(tmp_path: Path) -> None:
    (tmp_path / "client.py").write_text(CLIENT)
    with docker_launcher() as launcher:
        listeners = []
        for _ in range(2):
            sock = socket.socket()
            sock.bind((launcher.listen_host, 0))
            sock.listen(4)
            sock.settimeout(10)
            listeners.append(sock)
        mine, other = (s.getsockname()[1] for s in listeners)
        program = launcher.start(LaunchSpec(
            argv=("python", "client.py", launcher.client_host, str(mine), str(other)),
            cwd=tmp_path, grader_ports=(mine,)))
        try:
            conn, _ = listeners[0].accept()
            conn.close()
            assert program.wait(30) == 0
            out = program.output().stdout.decode()
        finally:
            program.stop()
            for sock in listeners:
                sock.close()
    assert f"{mine} connected" in out
    assert f"{other} blocked ConnectionRefusedError" in out
    assert "dns blocked" in out
    assert docker_leftovers() == []


UDP_CLIENT = textwrap.dedent("""\
    import socket, sys
    host, mine, other = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for port in (mine, other):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((host, port))
            sock.settimeout(2)
            try:
                sock.send(b"ping %d" % port)
                print(port, "answered", sock.recv(100).decode(), flush=True)
            except OSError as exc:
                print(port, "blocked", repr(exc), flush=True)
""")


def test_a_udp_client_reaches_only_the_udp_port_it_was_started_for(tmp_path: Path) -> None:
    """UDP goes through the same allow-list as TCP (udp-echo-client, docs/labs.md §15): the
    grader's own port answers; another bound UDP port of the grader gets nothing and the
    client is told at once (ICMP port unreachable), rather than waiting."""
    (tmp_path / "client.py").write_text(UDP_CLIENT)
    with docker_launcher() as launcher:
        socks = []
        for _ in range(2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((launcher.listen_host, 0))
            sock.settimeout(30)
            socks.append(sock)
        mine, other = (s.getsockname()[1] for s in socks)
        program = launcher.start(LaunchSpec(
            argv=("python", "client.py", launcher.client_host, str(mine), str(other)),
            cwd=tmp_path, grader_ports=(mine,)))
        try:
            data, source = socks[0].recvfrom(100)
            socks[0].sendto(b"pong", source)
            assert program.wait(30) == 0
            out = program.output().stdout.decode()
            socks[1].setblocking(False)
            with pytest.raises(BlockingIOError):
                socks[1].recvfrom(100)
        finally:
            program.stop()
            for sock in socks:
                sock.close()
    assert data == b"ping %d" % mine
    assert f"{mine} answered pong" in out
    assert f"{other} blocked ConnectionRefusedError" in out, out
    assert docker_leftovers() == []


PEEK = textwrap.dedent("""\
    import socket, sys
    try:
        socket.create_connection((sys.argv[1], 7000), timeout=2).close()
        print("reached", flush=True)
    except OSError as exc:
        print("blocked", repr(exc), flush=True)
""")


def test_one_grading_shares_a_network_and_another_grading_reaches_none_of_it(
        tmp_path: Path) -> None:
    """The programs of one grading (LaunchSpec.group: its lanes and restarts) share a sandbox
    network; a program of another grading gets its own and cannot reach them; stopping them
    all (the removals run in the background) and closing the launcher leaves nothing."""
    (tmp_path / "peek.py").write_text(PEEK)
    server = ("python", "/submission/tcp_echo_server.py", "0.0.0.0", "7000")
    with docker_launcher() as launcher:
        first, second = (launcher.start(LaunchSpec(argv=server, cwd=REFERENCE_DIR, group="a"))
                         for _ in range(2))
        other = None
        try:
            for program in (first, second):
                assert wait_ready(program, proto="tcp", host="0.0.0.0", port=7000,
                                  timeout=10).ready
            api = launcher.client.api
            networks = [set(api.inspect_container(p._container)["NetworkSettings"]["Networks"])
                        for p in (first, second)]
            assert networks[0] == networks[1] and len(networks[0]) == 1
            other = launcher.start(LaunchSpec(argv=("python", "peek.py", first.ip),
                                              cwd=tmp_path, group="b"))
            assert other.wait(30) == 0
            assert other.output().stdout.startswith(b"blocked"), other.output()
            mine = set(api.inspect_container(other._container)["NetworkSettings"]["Networks"])
            assert mine.isdisjoint(networks[0])
        finally:
            for program in (first, second, other):
                if program is not None:
                    program.stop()
    assert docker_leftovers() == []
