"""The server's end of one connection, looked up exactly (sock_diag): what
shutdown/closes-after-client judges.  Real sockets on this machine's loopback, no program.

The probe used to count the server's CLOSE_WAIT sockets right after the client's close(); on
a loaded machine the kernel may not have handled the client's FIN by then, so nothing was in
CLOSE_WAIT yet and a server that never closes passed.  The server's end of *that* connection
says which moment it is: ESTABLISHED (FIN not handled yet: wait), CLOSE_WAIT (handled, the
program keeps the socket), gone (the program closed it).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from grader.launch.sockdiag import NETLINK_SOCK_DIAG, TCP_CLOSE_WAIT, TCP_ESTABLISHED
from grader.probes.common import wait_for
from grader.probes.queues import server_end_state


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
