"""The settle after a probe (grader/launch/quiet.py) and readiness read real kernel state: a
listener's accept queue and what a process serves on, over sock_diag; a process's threads
waiting or at work; its open sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.launch.base import LaunchSpec, bound_endpoints, runnable, waiting
from grader.launch.local import LocalLauncher
from grader.launch.quiet import Settling, before_probe, held_sockets, settle
from grader.launch.sockdiag import NETLINK_SOCK_DIAG, accept_backlog
from grader.net import free_port
from grader.readiness import wait_ready


def test_the_accept_queue_of_a_listener_is_counted_until_accepted() -> None:
    with socket.socket() as listener, socket.socket(
            socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as diag:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        assert accept_backlog(diag, port) == 0
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
        try:
            assert accept_backlog(diag, port) == 3
            accepted, _ = listener.accept()
            accepted.close()
            assert accept_backlog(diag, port) == 2
        finally:
            for client in clients:
                client.close()


@contextmanager
def _python(code: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real process running ``code``, killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def test_a_process_blocked_in_accept_is_waiting_and_a_busy_one_is_not() -> None:
    blocked = ("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
               "print('ready', flush=True); s.accept()")
    with _python(blocked) as proc:
        deadline = time.monotonic() + 10
        while not waiting([proc.pid]) and time.monotonic() < deadline:
            time.sleep(0.01)  # polls the process's state: it reaches accept() in its own time
        assert waiting([proc.pid]) and not runnable([proc.pid])
        assert len(held_sockets([proc.pid])) == 1  # its listener
    with _python("print('ready', flush=True)\nwhile True: pass") as proc:
        assert not waiting([proc.pid])  # running or waiting for a CPU: at work either way
    assert not waiting([])  # nothing left is not waiting


def test_what_a_process_serves_on_is_the_same_from_sock_diag_as_from_proc() -> None:
    """Readiness's sock_diag dump and /proc/PID/net name the same endpoints: TCP listeners
    (IPv4, IPv6 and dual-stack) and bound UDP sockets, not a connected UDP socket, a
    connection or a socket bound but not listening."""
    made: list[socket.socket] = []

    def make(family: int, kind: int, host: str, *, listen: bool = False) -> socket.socket:
        sock = socket.socket(family, kind)
        made.append(sock)
        sock.bind((host, 0))
        if listen:
            sock.listen(4)
        return sock

    try:
        tcp4 = make(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", listen=True)
        served = [tcp4,
                  make(socket.AF_INET6, socket.SOCK_STREAM, "::1", listen=True),
                  make(socket.AF_INET6, socket.SOCK_STREAM, "::", listen=True),  # dual-stack
                  make(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1"),
                  make(socket.AF_INET6, socket.SOCK_DGRAM, "::1")]
        make(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1")  # bound, not listening
        connected = make(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1")
        connected.connect(("127.0.0.1", 9))  # a client's: not something it serves on
        made.append(socket.create_connection(tcp4.getsockname()[:2], timeout=5))
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as diag:
            from_diag = bound_endpoints([os.getpid()], diag)
        from_proc = bound_endpoints([os.getpid()])
        assert from_diag == from_proc
        assert {(e.proto, e.host, e.port) for e in from_diag} == {
            ("tcp" if sock.type == socket.SOCK_STREAM else "udp", *sock.getsockname()[:2])
            for sock in served}
    finally:
        for sock in made:
            sock.close()


#: A server that serves one connection as ``no_eof_check`` does: it never tests for
#: ``recv() == b''``, so once the client's FIN has arrived it spins on the closed connection;
#: with "leak" it never reads at all and keeps the connection (an fd leak, at rest).
#: With "poll" it polls a non-blocking accept in a busy loop, as ``busy_idle`` does, and
#: closes each connection at once: it lets go of the connection but never blocks.  With
#: "late" it blocks in accept, closes the connection once the client has, and only then
#: starts to spin (work the close caused, or a crash on its way).
_ONE_CONNECTION = """
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(1)
if sys.argv[2] == "poll":
    server.setblocking(False)
    while True:
        try:
            server.accept()[0].close()
        except BlockingIOError:
            pass
conn, _ = server.accept()
if sys.argv[2] == "late":
    while conn.recv(1024):
        pass
    conn.close()
    while True:
        pass
while True:
    if sys.argv[2] == "leak":
        server.accept()
    conn.recv(1024)
"""


@contextmanager
def _settled_after(mode: str, close: bool, bound: float = 0.5) -> Iterator[Settling]:
    """How :func:`settle` ends after a client connected to a real ``_ONE_CONNECTION`` server,
    was served, and closed (``close``) or stayed open: a FIN the kernel has not handed on
    looks, from the server's side, exactly like a client that has not closed yet."""
    port = free_port("127.0.0.1")
    launcher = LocalLauncher(own_network=False)
    program = launcher.start(LaunchSpec(argv=(sys.executable, "-c", _ONE_CONNECTION, str(port),
                                              mode), cwd=Path.cwd()))
    try:
        assert wait_ready(program, proto="tcp", host="127.0.0.1", port=port, timeout=10).ready
        before = before_probe(program.pids())
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        deadline = time.monotonic() + 10
        while (mode != "poll" and held_sockets(program.pids()) <= before.sockets
               and time.monotonic() < deadline):
            time.sleep(0.005)  # polls /proc until the server has accepted; bounded
        if close:
            client.close()
        yield settle(program, port=port, before=before, timeout=bound)
        client.close()
    finally:
        program.stop()


def test_a_server_waiting_for_a_fin_not_yet_handed_on_is_not_settled_but_lingering() -> None:
    """Blocked in recv() with the connection still ESTABLISHED, the server is at rest only
    until the FIN arrives: the settle waits for it, and at its bound says the server still
    holds the probe's connection (the runner then starts it afresh), not "settled"."""
    with _settled_after("spin", close=False) as settling:
        assert settling == Settling(None, settled=False, lingering=True)


def test_a_server_spinning_on_a_closed_connection_is_lingering() -> None:
    with _settled_after("spin", close=True) as settling:
        assert settling == Settling(None, settled=False, lingering=True)


def test_a_server_that_keeps_a_closed_connection_at_rest_has_settled() -> None:
    """An fd leak: the FIN arrived, the server holds the connection and waits for its next
    client; the settle ends at once, and no fresh start is asked for."""
    with _settled_after("leak", close=True) as settling:
        assert settling == Settling(None, settled=True, lingering=False)


def test_a_server_with_a_busy_loop_of_its_own_has_settled_once_it_let_go() -> None:
    """A server that polls a non-blocking accept never blocks, but it has closed the probe's
    connection: once its thread has spent a tenth of a CPU second it is taken for a busy
    loop of its own and settled, long before the bound (10 s here), not waited out."""
    started = time.monotonic()
    with _settled_after("poll", close=True, bound=10.0) as settling:
        assert settling == Settling(None, settled=True, lingering=False)
    assert time.monotonic() - started < 9.0


def test_a_server_that_starts_to_spin_only_after_the_close_is_waited_for() -> None:
    """The same busy loop, begun only once the probe's connection closed (it was blocked in
    accept before the probe), may be that close's doing: a crash on its way, or work the
    probe caused.  The settle waits for it to the bound rather than take it for a loop of
    its own, so a death it leads to is charged to this probe."""
    with _settled_after("late", close=True, bound=1.0) as settling:
        assert settling == Settling(None, settled=False, lingering=False)
