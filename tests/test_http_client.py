"""The HTTP probes' h11 client (grader/probes/http_client.py) on a socket pair: what counts as a
whole response, what h11 rejects (with its own reason), and when a connection may be reused.
Milliseconds each; nothing is started."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from grader.events import Closed, Timeout
from grader.net import Conn
from grader.probes.http_client import Exchange, Rejected, Response


@pytest.fixture
def pair() -> Iterator[tuple[Exchange, socket.socket]]:
    ours, theirs = socket.socketpair()
    exchange = Exchange(Conn(ours))
    try:
        yield exchange, theirs
    finally:
        exchange.conn.close()
        theirs.close()


def soon(seconds: float = 0.5) -> float:
    return time.monotonic() + seconds


def ask(exchange: Exchange, server: socket.socket, method: str = "GET", target: str = "/x") -> bytes:
    request = exchange.request(method, target)
    exchange.conn.send_all(request, deadline=soon())
    return server.recv(4096)


def test_request_is_written_by_h11_with_the_target_as_given(pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    assert ask(exchange, server, target="/../a%20b?q=1") == (
        b"GET /../a%20b?q=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")


def test_a_whole_response_with_content_length_keeps_the_connection(
        pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    ask(exchange, server)
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Length: 5\r\n\r\nhello")
    response = exchange.response(deadline=soon())
    assert isinstance(response, Response)
    assert (response.status, response.body, response.size) == (200, b"hello", 5)
    assert response.media_type() == "text/plain" and response.header("Content-Length") == "5"
    assert exchange.reusable()


def test_connection_close_and_a_body_ended_by_the_close_end_reuse(
        pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    ask(exchange, server)
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    assert isinstance(exchange.response(deadline=soon()), Response)
    assert not exchange.reusable()
    ours, theirs = socket.socketpair()
    other = Exchange(Conn(ours))
    ask(other, theirs)
    theirs.sendall(b"HTTP/1.1 200 OK\r\n\r\nbody until the close")
    theirs.close()
    response = other.response(deadline=soon())
    assert isinstance(response, Response) and response.body == b"body until the close"
    assert not other.reusable()
    other.conn.close()


def test_a_short_body_is_rejected_with_h11s_reason(pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    ask(exchange, server)
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
    server.shutdown(socket.SHUT_WR)
    result = exchange.response(deadline=soon())
    assert isinstance(result, Rejected) and result.by_h11 and result.status == 200
    assert "peer closed connection without sending complete message body" in result.reason


def test_a_malformed_status_line_is_rejected_by_h11(pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    ask(exchange, server)
    server.sendall(b"200 OK\r\n\r\n")
    result = exchange.response(deadline=soon())
    assert isinstance(result, Rejected) and result.by_h11 and result.received == b"200 OK\r\n\r\n"


def test_a_close_before_any_byte_is_no_response_not_an_h11_error(
        pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    ask(exchange, server)
    server.shutdown(socket.SHUT_WR)
    result = exchange.response(deadline=soon())
    assert isinstance(result, Rejected) and not result.by_h11
    assert isinstance(result.end, Closed) and result.received == b""


def test_silence_ends_at_the_deadline(pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    ask(exchange, server)
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Len")
    result = exchange.response(deadline=soon(0.05))
    assert isinstance(result, Rejected) and isinstance(result.end, Timeout)
    assert result.received == b"HTTP/1.1 200 OK\r\nContent-Len" and result.status is None


def test_a_head_response_has_no_body_and_a_sent_body_is_left_over(
        pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    ask(exchange, server, method="HEAD")
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    response = exchange.response(deadline=soon())
    assert isinstance(response, Response) and response.size == 0
    assert response.header("content-length") == "5" and exchange.leftover == b"hello"


def test_pipelined_responses_in_one_write_are_read_in_order(
        pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\n"
                   b"Content-Length: 1\r\n\r\nb")
    got = []
    for _ in range(2):
        exchange.sent_raw("GET")
        response = exchange.response(deadline=soon())
        assert isinstance(response, Response)
        got.append((response.status, response.body))
    assert got == [(200, b"a"), (404, b"b")]


def test_a_body_that_stalls_ends_at_the_stall_not_the_deadline(
        pair: tuple[Exchange, socket.socket]) -> None:
    """Part of a body, then silence on an open connection: Rejected after ``stall`` s."""
    exchange, server = pair
    ask(exchange, server)
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel")
    started = time.monotonic()
    result = exchange.response(deadline=soon(30.0), stall=0.05)
    assert time.monotonic() - started < 5.0
    assert isinstance(result, Rejected) and isinstance(result.end, Timeout)
    assert (result.status, result.body_bytes) == (200, 3)
    assert result.reason.startswith("the body stopped after 3 bytes (")


def test_the_stall_window_waits_for_the_head_only_up_to_the_deadline(
        pair: tuple[Exchange, socket.socket]) -> None:
    """Before the head, ``stall`` does not apply: a head that comes later than it still counts."""
    exchange, server = pair
    ask(exchange, server)
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
    result = exchange.response(deadline=soon(0.3), stall=0.01)
    assert isinstance(result, Rejected) and isinstance(result.end, Timeout)
    assert result.end.after >= 0.25  # waited for the deadline, not the stall window


def test_a_slow_reader_paces_itself_per_read(pair: tuple[Exchange, socket.socket]) -> None:
    exchange, server = pair
    seen: list[int] = []
    exchange.pace = seen.append
    ask(exchange, server)
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    response = exchange.response(deadline=soon())
    assert isinstance(response, Response) and response.sha256.startswith("ba7816bf")
    assert seen and seen[-1] == 3
