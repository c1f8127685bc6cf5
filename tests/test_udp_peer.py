"""The grader's UDP peer over real loopback sockets: typed events, never a hang."""

from __future__ import annotations

import socket
import time

from grader.events import Done, Overflow, Reset, Timeout
from grader.udp import MAX_DATAGRAM, UdpPeer


def echo_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def test_datagram_round_trip_with_source_and_boundaries() -> None:
    with echo_socket() as server, UdpPeer(server.getsockname()) as peer:
        for payload in (b"one", b"", b"x" * MAX_DATAGRAM):
            assert isinstance(peer.send(payload, deadline=time.monotonic() + 1), Done)
            data, address = server.recvfrom(65535)
            assert data == payload
            server.sendto(data, address)
            result = peer.receive(deadline=time.monotonic() + 1)
            assert result.complete and result.data == payload
            assert result.source == server.getsockname()


def test_timeout_when_nothing_comes() -> None:
    with echo_socket() as server, UdpPeer(server.getsockname()) as peer:
        started = time.monotonic()
        result = peer.receive(deadline=started + 0.1)
        assert isinstance(result.end, Timeout) and result.data == b""
        assert 0.09 <= time.monotonic() - started < 1.0
        assert peer.drain() == []


def test_icmp_port_unreachable_is_a_reset_on_a_connected_peer() -> None:
    server = echo_socket()
    address = server.getsockname()
    server.close()  # nothing bound there any more
    with UdpPeer(address) as peer:
        peer.send(b"anyone?", deadline=time.monotonic() + 1)
        result = peer.receive(deadline=time.monotonic() + 1)
        assert isinstance(result.end, Reset)


def test_truncation_is_an_overflow() -> None:
    with echo_socket() as server, UdpPeer(server.getsockname()) as peer:
        peer.send(b"ping", deadline=time.monotonic() + 1)
        _, address = server.recvfrom(100)
        server.sendto(b"y" * 100, address)
        result = peer.receive(deadline=time.monotonic() + 1, cap=10)
        assert isinstance(result.end, Overflow) and len(result.data) == 10


def test_unconnected_peer_sees_a_reply_from_another_port() -> None:
    with echo_socket() as server, echo_socket() as other, UdpPeer(
            server.getsockname(), connected=False) as peer:
        peer.send(b"hello", deadline=time.monotonic() + 1)
        _, address = server.recvfrom(100)
        other.sendto(b"hello", address)
        result = peer.receive(deadline=time.monotonic() + 1)
        assert result.complete and result.source == other.getsockname()


def test_connected_peer_ignores_strangers() -> None:
    with echo_socket() as server, echo_socket() as other, UdpPeer(server.getsockname()) as peer:
        peer.send(b"hello", deadline=time.monotonic() + 1)
        _, address = server.recvfrom(100)
        other.sendto(b"stranger", address)
        server.sendto(b"server", address)
        result = peer.receive(deadline=time.monotonic() + 1)
        assert result.data == b"server"
