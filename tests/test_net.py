"""grader.net: socket outcomes become typed events, every read is capped and deadline-bound."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from grader import net
from grader.events import Closed, Done, Overflow, Reset, Timeout


@pytest.fixture
def pair() -> Iterator[tuple[net.Conn, socket.socket]]:
    listener = socket.create_server(("127.0.0.1", 0))
    conn = net.connect("127.0.0.1", listener.getsockname()[1], timeout=2)
    peer, _ = listener.accept()
    listener.close()
    yield conn, peer
    conn.close()
    peer.close()


def soon(seconds: float = 2.0) -> float:
    return time.monotonic() + seconds


def test_data_then_fin(pair: tuple[net.Conn, socket.socket]) -> None:
    conn, peer = pair
    peer.sendall(b"hello")
    peer.shutdown(socket.SHUT_WR)
    result = conn.read_to_eof(deadline=soon())
    assert result.data == b"hello" and isinstance(result.end, Closed)


def test_rst_is_reset(pair: tuple[net.Conn, socket.socket]) -> None:
    conn, peer = pair
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    peer.close()
    assert isinstance(conn.read_some(deadline=soon()).end, Reset)


def test_timeout(pair: tuple[net.Conn, socket.socket]) -> None:
    conn, _ = pair
    result = conn.read_exactly(4, deadline=soon(0.1))
    assert isinstance(result.end, Timeout) and result.data == b""


def test_overflow_caps_an_endless_stream(pair: tuple[net.Conn, socket.socket]) -> None:
    conn, peer = pair
    stop = threading.Event()

    def flood() -> None:
        try:
            while not stop.is_set():
                peer.sendall(b"x" * 65536)
        except OSError:
            pass

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    result = conn.read_to_eof(deadline=soon(), cap=100_000)
    stop.set()
    conn.close()
    thread.join(2)
    assert isinstance(result.end, Overflow) and len(result.data) < 100_000 + 300_000


def test_bytes_beyond_a_read_are_kept_for_the_next(pair: tuple[net.Conn, socket.socket]) -> None:
    conn, peer = pair
    peer.sendall(b"one\ntwo\n")
    assert conn.read_until(b"\n", deadline=soon()).data == b"one\n"
    assert conn.read_exactly(4, deadline=soon()).data == b"two\n"


def test_connect_refused_is_reset() -> None:
    port = net.free_port()
    with pytest.raises(net.ConnectFailed) as info:
        net.connect("127.0.0.1", port, timeout=1)
    assert isinstance(info.value.event, Reset)


def test_exchange_reads_while_writing(pair: tuple[net.Conn, socket.socket]) -> None:
    conn, peer = pair

    def echo() -> None:
        while data := peer.recv(65536):
            peer.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    payload = bytes(range(256)) * 16384  # 4 MiB: more than both socket buffers hold
    result = conn.exchange(payload, expect=len(payload), deadline=soon(20))
    assert isinstance(result.send_end, Done) and result.read.data == payload


def _unread_send(rcvbuf: int, size: int) -> int:
    """Bytes a non-blocking send() of ``size`` bytes takes while the grader reads none of it,
    the grader's connection made with ``rcvbuf`` (a partial send() drops the rest)."""
    listener = socket.create_server(("127.0.0.1", 0))
    conn = net.connect("127.0.0.1", listener.getsockname()[1], timeout=2, rcvbuf=rcvbuf)
    server, _ = listener.accept()
    listener.close()
    server.setblocking(False)
    try:
        return server.send(bytes(size))
    except BlockingIOError:
        return 0
    finally:
        server.close()
        conn.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="a buffer past net.core.rmem_max takes root")
def test_a_window_for_the_whole_payload_takes_a_servers_send_however_late_the_grader_reads() -> None:
    """partial/large-payload's receive buffer: a 4 MiB echo fits, so the server's send() is
    whole even if the grader is descheduled; through a 64 KiB one it is partial."""
    size = 4 * 1024 * 1024
    assert _unread_send(2 * size + (1 << 20), size) == size
    assert _unread_send(64 * 1024, size) < size


def test_a_paced_send_waits_on_pace_between_pieces_until_it_gives_up(
        pair: tuple[net.Conn, socket.socket]) -> None:
    """``pace`` runs between two pieces, not before the first nor after the last; once it
    returns False it is not asked again (the gap alone spaces the rest), and every byte is
    sent."""
    conn, peer = pair
    answers = iter([True, True, False])
    calls: list[int] = []

    def pace() -> bool:
        calls.append(len(calls))
        return next(answers)

    assert isinstance(conn.send_all(b"abcdef", deadline=soon(), chunks=[1] * 6, gap=0.001,
                                    pace=pace), Done)
    assert calls == [0, 1, 2]  # pieces 2 and 3 paced; after the third call, gaps
    got = b""
    while len(got) < 6:
        got += peer.recv(16)
    assert got == b"abcdef"


def _patience(answers: list[bool], *, then: Callable[[], object] | None = None
              ) -> tuple[list[str], Callable[[], Callable[[], bool]]]:
    """A Conn.patience that answers ``answers`` in turn (the peer owed time or not), calling
    ``then`` just before its last answer; the calls are recorded."""
    calls: list[str] = []

    def made() -> Callable[[], bool]:
        calls.append("made")

        def owed() -> bool:
            calls.append("asked")
            if len(calls) == len(answers) + 1 and then is not None:
                then()
            return answers[len(calls) - 2]
        return owed
    return calls, made


def test_a_reads_deadline_is_stretched_only_while_the_peer_is_owed_time(
        pair: tuple[net.Conn, socket.socket]) -> None:
    """Conn.patience is asked when a read's deadline passes, then at each PATIENCE_STEP: the
    read goes on while the peer is owed time and ends (Timeout) once it is not; a read with
    no patience, and an observation window (read_for), end at their deadline."""
    conn, _peer = pair
    assert isinstance(conn.read_some(deadline=soon(0.01)).end, Timeout)  # none set: no stretch
    calls, made = _patience([True, True, False, False])
    conn.patience = made
    started = time.monotonic()
    result = conn.read_some(deadline=soon(0.01))
    assert isinstance(result.end, Timeout) and calls == ["made", "asked", "asked", "asked", "asked"]
    # two steps owed, then one more step (for bytes on their way) after the peer was seen at
    # rest, ended by a second look at rest
    assert time.monotonic() - started >= 3 * net.PATIENCE_STEP
    # one look at rest between two owed ones (a page fault, say) does not end the stretch
    calls, made = _patience([True, False, True, False, False])
    conn.patience = made
    assert isinstance(conn.read_some(deadline=soon(0.01)).end, Timeout)
    assert calls == ["made"] + ["asked"] * 5
    calls.clear()
    assert isinstance(conn.read_for(0.01).end, Timeout) and calls == []
    # not owed at the first look: the deadline holds, no extra step
    calls, made = _patience([False])
    conn.patience = made
    started = time.monotonic()
    assert isinstance(conn.read_some(deadline=soon(0.01)).end, Timeout) and calls == ["made", "asked"]
    assert time.monotonic() - started < net.PATIENCE_STEP + 0.5


def test_bytes_sent_just_before_the_peer_is_seen_at_rest_are_read(
        pair: tuple[net.Conn, socket.socket]) -> None:
    """A peer that sends its reply and blocks between the read's last wait and the look that
    finds it at rest: the read takes one step more and gets the reply (seen in a Docker
    test under load before that step was there)."""
    conn, peer = pair
    _, made = _patience([True, False], then=lambda: peer.sendall(b"late reply"))
    conn.patience = made
    result = conn.read_some(deadline=soon(0.01))
    assert result.complete and result.data == b"late reply", result


def test_an_exchanges_idle_time_is_stretched_like_a_reads_deadline(
        pair: tuple[net.Conn, socket.socket]) -> None:
    """Conn.exchange's ``idle`` ends it only once the peer has had the CPU, as a read's
    deadline does: the echo sent just before the peer is seen at rest is read."""
    conn, peer = pair
    assert isinstance(conn.exchange(b"", expect=4, deadline=soon(), idle=0.01).read.end, Timeout)
    calls, made = _patience([True, True, False], then=lambda: peer.sendall(b"echo"))
    conn.patience = made
    result = conn.exchange(b"", expect=4, deadline=soon(), idle=0.01)
    assert result.read.complete and result.read.data == b"echo", result
    assert calls == ["made", "asked", "asked", "asked"]
