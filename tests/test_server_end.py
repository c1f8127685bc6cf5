"""The server's end of one connection, looked up exactly (sock_diag): what
shutdown/closes-after-client judges.  Real sockets on this machine's loopback, no program.

The probe used to count the server's CLOSE_WAIT sockets right after the client's close(); on
a loaded machine the kernel may not have handled the client's FIN by then, so nothing was in
CLOSE_WAIT yet and a server that never closes passed.  The server's end of *that* connection
says which moment it is: ESTABLISHED (FIN not handled yet: wait), CLOSE_WAIT (handled, the
program keeps the socket), gone (the program closed it).

The same lookup paces every split-message probe (:class:`grader.probes.queues.Pacer`): the
last tests hold it to its three answers (read, never read, reset).
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.launch.base import LaunchSpec, Limits
from grader.launch.local import LocalLauncher
from grader.launch.sockdiag import NETLINK_SOCK_DIAG, TCP_CLOSE_WAIT, TCP_ESTABLISHED
from grader.net import Conn, free_port
from grader.probes import queues
from grader.probes.common import wait_for
from grader.probes.queues import Pacer, server_end_at, server_end_state
from grader.readiness import wait_ready


@pytest.fixture
def diag() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        yield nl


def _pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    return client, server


def _ends(client: socket.socket) -> tuple[tuple[str, int], tuple[str, int]]:
    return client.getpeername()[:2], client.getsockname()[:2]


def test_before_the_clients_fin_the_servers_end_is_established_not_closed(
        diag: socket.socket) -> None:
    """What the old count could not tell from a closed socket: no CLOSE_WAIT yet."""
    client, server = _pair()
    with client, server:
        assert server_end_state(diag, *_ends(client)) == TCP_ESTABLISHED


def test_a_server_that_keeps_the_socket_after_the_fin_is_in_close_wait(
        diag: socket.socket) -> None:
    client, server = _pair()
    with server:
        ends = _ends(client)
        client.close()
        state = wait_for(lambda: s if (s := server_end_state(diag, *ends)) != TCP_ESTABLISHED
                         else None, deadline=_soon())
        assert state == TCP_CLOSE_WAIT


def test_a_server_that_closes_after_the_fin_leaves_nothing(diag: socket.socket) -> None:
    client, server = _pair()
    ends = _ends(client)
    client.close()
    assert server.recv(1) == b""  # the FIN arrived
    server.close()
    assert wait_for(lambda: True if server_end_state(diag, *ends) is None else None,
                    deadline=_soon())


def _soon() -> float:
    return time.monotonic() + 2.0


_READS_WHEN_TOLD = """
import socket, sys
listener = socket.socket()
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen()
print("listening", flush=True)
conn, _ = listener.accept()
sys.stdin.readline()  # the test says when to read
while conn.recv(65536):
    pass
"""


def test_the_server_end_of_a_program_in_a_namespace_of_its_own_is_found_there(
        tmp_path: Path) -> None:
    """What split-message and reset probes wait on: a real program's unread bytes, then none
    once it reads, then its socket gone once it closes, looked up in the program's own network
    namespace (where it has one), so the lookup in any other namespace would find nothing."""
    program_file = tmp_path / "server.py"
    program_file.write_text(_READS_WHEN_TOLD)
    port = free_port()
    launcher = LocalLauncher()
    program = launcher.start(LaunchSpec(argv=(sys.executable, str(program_file), str(port)),
                                        cwd=tmp_path, limits=Limits(), own_network=True))
    ctx = SimpleNamespace(program=program)
    try:
        assert wait_ready(program, proto="tcp", host="127.0.0.1", port=port, timeout=20).ready
        with program.socket() as client:
            client.settimeout(5.0)
            client.connect(program.address(port))
            client.sendall(b"x" * 1000)
            server, ours = client.getpeername()[:2], client.getsockname()[:2]
            unread = wait_for(lambda: e.unread if (e := server_end_at(ctx, server, ours)) is not None  # type: ignore[arg-type]
                              and e.unread == 1000 else None, deadline=_soon())
            assert unread == 1000  # delivered, not read: the program waits for its stdin
            program.write_stdin(b"go\n", deadline=_soon())
            read = wait_for(lambda: True if (e := server_end_at(ctx, server, ours)) is not None  # type: ignore[arg-type]
                            and e.unread == 0 else None, deadline=_soon())
            assert read, "the program's reading never showed"
            client.shutdown(socket.SHUT_WR)
            assert program.wait(10.0) == 0
            gone = wait_for(lambda: True if server_end_at(ctx, server, ours) is None else None,  # type: ignore[arg-type]
                            deadline=_soon())
            assert gone, "the exited program's socket is still found"
    finally:
        program.stop()
        launcher.close()


def test_a_connection_gone_is_not_confused_with_the_listener_on_its_port(
        diag: socket.socket) -> None:
    """The kernel's exact lookup falls back to the socket listening on the port when no
    connection matches (as it does for an arriving segment): that answer means "gone"."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        ends = _ends(client)
        assert server_end_state(diag, *ends) == TCP_ESTABLISHED
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # RST: the server's end leaves the kernel's table once it is closed
        server.close()
        gone = wait_for(lambda: True if server_end_state(diag, *ends) is None else None,
                        deadline=_soon())
        assert gone, f"still found: state {server_end_state(diag, *ends)}"


class _PaceContext:
    """What :class:`grader.probes.queues.Pacer` asks of a probe's context: no program (the
    lookup is made in this namespace), a reply deadline of ``reply`` seconds, a transcript."""

    def __init__(self, reply: float) -> None:
        self.program = None
        self.reply = reply
        self.logged: list[str] = []
        self.waiting = threading.Event()  # set once a wait on the reply deadline has begun

    def reply_deadline(self, seconds: float | None = None) -> float:
        self.waiting.set()
        return time.monotonic() + (self.reply if seconds is None else seconds)

    def log(self, text: str) -> None:
        self.logged.append(text)


def test_the_pacer_waits_until_the_server_has_read_the_piece_before() -> None:
    """The condition a split-message probe waits on: our bytes acknowledged *and* read by the
    server.  While they sit in the server's receive queue the pacer waits (a reader thread
    reads them only once the pacer has begun its wait); once read, it goes on."""
    client, server = _pair()
    ctx = _PaceContext(reply=5.0)
    with client, server:
        conn = Conn(client)
        conn.sock.sendall(b"piece")
        seen = wait_for(lambda: e.unread if (e := server_end_at(ctx, *_ends(client)))  # type: ignore[arg-type]
                        is not None and e.unread else None, deadline=_soon())
        assert seen == 5  # delivered, not read yet
        ctx.waiting.clear()

        def read_when_waited_for() -> None:
            if ctx.waiting.wait(timeout=5):
                server.recv(5)

        reader = threading.Thread(target=read_when_waited_for)
        reader.start()
        pacer = Pacer(ctx, conn)  # type: ignore[arg-type]
        assert pacer() is True
        end = server_end_at(ctx, *_ends(client))  # type: ignore[arg-type]
        assert end is not None and end.unread == 0  # it returned only once the server had read
        reader.join(timeout=5)
        assert pacer.held and "each once the server had read" in pacer.describe()
        assert not ctx.logged


def test_the_pacer_gives_up_once_on_a_server_that_stops_reading() -> None:
    """A server that never reads holds the pacer for one reply deadline, not one per piece:
    after the first miss it answers at once, says so in the transcript, and the probe's
    pieces go on (spaced by its gap alone)."""
    client, server = _pair()
    ctx = _PaceContext(reply=0.3)
    with client, server:
        conn = Conn(client)
        conn.sock.sendall(b"never read")
        pacer = Pacer(ctx, conn)  # type: ignore[arg-type]
        started = time.monotonic()
        assert pacer() is False
        assert time.monotonic() - started >= 0.3
        again = time.monotonic()
        for _ in range(5):
            assert pacer() is False
        assert time.monotonic() - again < 0.3  # no second wait
        assert not pacer.held and "stopped reading" in pacer.describe()
        assert len(ctx.logged) == 1 and "reply deadline" in ctx.logged[0]


def test_the_pacer_does_not_wait_on_a_connection_the_server_reset() -> None:
    """A reset connection takes no more bytes to the server: nothing to wait for, even though
    our send queue still counts the bytes the reset left unacknowledged."""
    client, server = _pair()
    ctx = _PaceContext(reply=30.0)
    with client:
        conn = Conn(client)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        server.close()  # RST
        wait_for(lambda: True if queues.ends(conn) is None or _reset(client) else None,
                 deadline=_soon())
        started = time.monotonic()
        assert Pacer(ctx, conn)() is True  # type: ignore[arg-type]
        assert time.monotonic() - started < 5.0


def _reset(client: socket.socket) -> bool:
    try:
        client.send(b"after the reset")
    except OSError:
        return True
    return False
