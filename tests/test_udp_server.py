"""The grader's impairing UDP server (grader/udp_server.py) over real loopback sockets, and the
udp-client judging functions on plain data: milliseconds each, no client program started."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from grader.context import ClientRun
from grader.launch.base import Output
from grader.probes.udp_client import (
    judge_clean_error,
    judge_exit_ok,
    judge_printed_once,
    judge_requests,
    retry_delay,
)
from grader.udp_server import Action, Plan, Request, UdpServer
from grader.verdict import ProbeFailed


@contextmanager
def serving(plan: Plan, *, seconds: float = 5.0) -> Iterator[tuple[UdpServer, socket.socket]]:
    """A server playing ``plan`` and a connected client socket with a 1 s timeout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with UdpServer(sock, plan=plan, deadline=time.monotonic() + seconds) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.connect(server.address)
        client.settimeout(1.0)
        yield server, client


def test_a_plain_plan_echoes_each_request() -> None:
    with serving(Plan()) as (server, client):
        for payload in (b"one", b"", b"x" * 65507):
            client.send(payload)
            assert client.recv(65536) == payload
    requests, sent = server.snapshot()
    assert [r.data for r in requests] == [b"one", b"", b"x" * 65507]
    assert [(s.request, s.what) for s in sent] == [(0, "reply"), (1, "reply"), (2, "reply")]


def test_a_dropped_request_is_not_answered_and_the_next_is() -> None:
    with serving(Plan(actions=(Action(drop=True),))) as (server, client):
        client.send(b"first")
        client.send(b"second")
        assert client.recv(100) == b"second"
    requests, sent = server.snapshot()
    assert len(requests) == 2 and [s.request for s in sent] == [1]
    assert retry_delay(requests) is not None and retry_delay(requests[:1]) is None


def test_copies_and_a_held_reply_sent_with_the_next() -> None:
    with serving(Plan(actions=(Action(hold=True), Action(copies=2)))) as (server, client):
        client.send(b"a")
        client.settimeout(0.05)
        with pytest.raises(TimeoutError):  # held: nothing until the next request
            client.recv(100)
        client.settimeout(1.0)
        client.send(b"b")
        assert [client.recv(100) for _ in range(3)] == [b"a", b"b", b"b"]
    _, sent = server.snapshot()
    assert [(s.request, s.what) for s in sent] == [(0, "late reply"), (1, "reply"), (1, "reply")]


def test_a_decoy_comes_first_from_another_port() -> None:
    with serving(Plan(actions=(Action(decoy=b"stranger"),))) as (server, _), \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as open_client:
        open_client.settimeout(1.0)
        open_client.sendto(b"hi", server.address)
        first, source1 = open_client.recvfrom(100)
        second, source2 = open_client.recvfrom(100)
    assert (first, second) == (b"stranger", b"hi")
    assert source1 != server.address and source2 == server.address


def test_a_silent_plan_answers_nothing() -> None:
    with serving(Plan.silent()) as (server, client):
        client.send(b"a")
        client.settimeout(0.05)
        with pytest.raises(TimeoutError):
            client.recv(100)
    assert len(server.snapshot()[0]) == 1 and server.snapshot()[1] == []


def test_seeded_plans_repeat_with_the_seed() -> None:
    plans = [Plan.seeded(random.Random(seed), requests=50, drop=0.3, duplicate=0.3)
             for seed in (7, 7, 8)]
    assert plans[0] == plans[1] != plans[2]
    assert any(a.drop for a in plans[0].actions) and any(a.copies == 2 for a in plans[0].actions)
    assert plans[0].action(50) == Action()


def test_stop_wakes_the_thread_at_once_and_the_deadline_ends_it() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    server = UdpServer(sock, plan=Plan(), deadline=time.monotonic() + 60)
    server.start()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0 and sock.fileno() == -1
    sock2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock2.bind(("127.0.0.1", 0))
    expiring = UdpServer(sock2, plan=Plan(), deadline=time.monotonic() + 0.05)
    expiring.start()
    expiring._thread.join(2.0)
    assert not expiring._thread.is_alive()
    expiring.stop()


# -- judging ---------------------------------------------------------------------------------


def run(status: int | None, stdout: bytes = b"", stderr: bytes = b"") -> ClientRun:
    return ClientRun(status=status, elapsed=0.1, output=Output(
        stdout=stdout, stderr=stderr, stdout_total=len(stdout), stderr_total=len(stderr)))


def request(data: bytes, index: int = 0) -> Request:
    return Request(index=index, data=data, source=("127.0.0.1", 1), at=float(index))


def reason(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ProbeFailed) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return f"{caught.value.reason} | {caught.value.hint}"


def test_requests_are_judged_exactly() -> None:
    judge_requests([request(b"hi"), request(b"hi", 1)], b"hi")
    assert "no datagram" in reason(judge_requests, [], b"hi")
    assert "no newline added" in reason(judge_requests, [request(b"hi\n")], b"hi")
    assert "in pieces" in reason(judge_requests, [request(b"h")], b"hi")


def test_printed_once_names_the_likely_bug() -> None:
    judge_printed_once(b"hi\n", b"hi")
    assert "2 times" in reason(judge_printed_once, b"hi\nhi\n", b"hi")
    assert "another port" in reason(judge_printed_once, b"evil\n", b"hi", decoy=b"evil")
    assert "truncated reply (3 of 6 bytes)" in reason(judge_printed_once, b"abc\n", b"abcdef")
    assert "repr" in reason(judge_printed_once, b"b'hi'\n", b"hi")
    assert "Latin-1" in reason(judge_printed_once, "é".encode().decode("latin-1").encode() + b"\n",
                               "é".encode())


def test_exit_and_error_judging() -> None:
    judge_exit_ok(run(0))
    assert "killed" in reason(judge_exit_ok, run(None))
    judge_clean_error(run(1, stderr=b"error: no reply\n"), "silent", 10.0)
    assert "hung" in reason(judge_clean_error, run(None), "silent", 10.0)
    assert "status 0" in reason(judge_clean_error, run(0), "silent", 10.0)
    assert "traceback" in reason(judge_clean_error, run(1, stderr=b"Traceback (most...)\nX\n"),
                                 "silent", 10.0)
    assert "one line" in reason(judge_clean_error, run(1, stderr=b"a\nb\n"), "silent", 10.0)
