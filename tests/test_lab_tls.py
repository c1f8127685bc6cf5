"""tls-echo-server (docs/labs.md §12): the reference passes every probe, each known bug fails
exactly its probes for the stated reason, the credentials are made per instance and removed,
verdicts repeat exactly, and the TLS transport carries lab 1's probes unchanged.

Gradings are independent, so they run concurrently in threads: every known
bug is graded once, up front, by a module fixture.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dockerkit import docker_image, docker_launcher, docker_leftovers, grade_in_docker  # noqa: F401
from helpers import (
    REPEAT_CHUNKS,
    Gradings,
    assert_all_passed_alike,
    assert_known_bug,
    failed,
    grade,
    grade_at_once,
    grade_known_bugs,
    not_passed,
    signature,
    verdict,
)

from grader import tls
from grader.assignment import load
from grader.events import Closed, Done, Reset
from grader.verdict import Outcome

LAB = "tls-echo-server"
ALL = {c.name for c in load(LAB).probes}
AFTER_START = ALL - {"startup/listens"}
AFTER_HANDSHAKE = AFTER_START - {"tls/handshake"}
SECOND = "concurrency/second-client"  # informational: an iterative server fails it as advice
OLD = "tls/old-versions-refused"  # informational
STRANGERS = {"tls/plain-http-client", "tls/garbage-client", "tls/half-hello-reset",
             "tls/client-rejects-cert"}

# bug file -> (the exact probes that do not pass, {probe: words its verdict must contain})
KNOWN_BUGS: dict[str, tuple[set[str], dict[str, str]]] = {
    "no_key": (ALL, {"startup/listens": "crashed at start"}),
    "own_cert": (AFTER_START, {"tls/handshake": "other than the one given"}),
    "plain_tcp": (AFTER_START, {"tls/handshake": "own ClientHello back"}),
    "client_context": (AFTER_START, {"tls/handshake": "ssl.Purpose.CLIENT_AUTH"}),
    "wraps_listener": (  # iterative; a failed handshake in accept() kills it, even TLS 1.0's
        {*STRANGERS, OLD, SECOND},
        {"tls/plain-http-client": "the next client was not served",
         "tls/half-hello-reset": "the next client was not served"},
    ),
    "ssl_error_only": (  # iterative
        {"tls/half-hello-reset", SECOND},
        {"tls/half-hello-reset": "not an ssl.SSLError"},
    ),
    "one_recv": (
        {"echo/many-messages", "echo/binary", "partial/one-byte-writes", "partial/large-payload",
         "shutdown/half-close"},
        {"echo/many-messages": "message 2 of 20", "partial/one-byte-writes": "0 of 30 bytes"},
    ),
    "dies_on_reset": (  # iterative
        {"robustness/reset-before-reply", SECOND},
        {"robustness/reset-before-reply": "catch OSError around sendall()"},
    ),
    "allows_tls10": ({OLD}, {OLD: "accepted a client that offered only TLS 1.0"}),
}

# bug file -> the exact probes skipped (a dependency failed); the rest of its set failed
SKIPPED: dict[str, set[str]] = {
    "no_key": AFTER_START,
    "own_cert": AFTER_HANDSHAKE,
    "plain_tcp": AFTER_HANDSHAKE,
    "client_context": AFTER_HANDSHAKE,
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[str]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return grade_known_bugs(LAB, KNOWN_BUGS)


def test_reference_passes_every_probe() -> None:
    result = grade(LAB)
    assert not_passed(result) == set(), [(v.probe_id, v.reason) for v in result.verdicts]
    assert all(v.outcome is Outcome.PASSED for v in result.verdicts)
    assert result.status == "passed" and result.score == result.max_score > 0
    cert, key = Path(result.command[-2]), Path(result.command[-1])
    assert (cert.name, key.name) == ("cert.pem", "key.pem")
    assert cert.parent == key.parent and cert.parent.name.startswith("sockgrade-tls-")
    assert not cert.parent.exists()  # the runner removed the instance's credentials


@pytest.mark.parametrize("bug", sorted(KNOWN_BUGS))
def test_known_bug_fails_exactly_its_probes(bug: str, bug_results: Gradings[str]) -> None:
    expected, reasons = KNOWN_BUGS[bug]
    assert_known_bug(bug_results[bug], expected, SKIPPED.get(bug, set()), reasons)


def test_every_probe_is_failed_by_some_known_bug(bug_results: Gradings[str]) -> None:
    """Except the shared probes whose bugs lab 1 proves (tests/test_tcp_echo_server.py) and which
    no TLS bug of its own reaches: listed here so a gap is a decision, not an accident."""
    proven_by_lab_1 = {"echo/one-message", "shutdown/closes-after-client", "robustness/client-reset",
                       "robustness/sequential-clients", "resources/no-fd-leak",
                       "resources/idle-cpu", "resources/idle-cpu-client"}
    failed_somewhere = set().union(*(failed(result) for result in bug_results.values()))
    assert failed_somewhere == ALL - proven_by_lab_1


def test_the_echo_probes_run_over_tls() -> None:
    """The transcripts of lab 1's probes show the TLS handshake of their connections."""
    result = grade(LAB, select=("startup/listens", "tls/handshake", "echo/one-message"))
    assert [v.outcome for v in result.verdicts] == [Outcome.PASSED] * 3
    assert any("TLS handshake: TLSv1.3" in line
               for line in verdict(result, "echo/one-message").transcript)


def test_an_old_version_the_grader_cannot_offer_is_an_error_not_a_failure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When this machine's OpenSSL cannot offer TLS 1.0, the informational probe says so as an
    error (a grader fault, never the student's)."""
    from grader.probes import tls_echo

    monkeypatch.setattr(tls_echo, "_cannot_offer", lambda *_: "not built in")
    result = grade(LAB, select=("startup/listens", "tls/handshake", OLD))
    v = verdict(result, OLD)
    assert v.outcome is Outcome.ERROR and "cannot offer TLS 1.0 (not built in)" in v.reason
    assert result.status == "passed"  # informational: costs nothing


# -- the transport, against a stdlib server in a thread ------------------------------------


@pytest.fixture()
def tls_server() -> Iterator[tuple[tls.Credentials, tuple[str, int]]]:
    """A stdlib TLS echo server (thread per client, close_notify on the way out)."""
    folder = Path(tempfile.mkdtemp(prefix="sockgrade-test-tls-"))
    credentials = tls.make_credentials(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(credentials.cert, credentials.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        try:
            with context.wrap_socket(conn, server_side=True) as secure:
                while data := secure.recv(65536):
                    secure.sendall(data)
                secure.unwrap()
        except OSError:
            conn.close()

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield credentials, listener.getsockname()
    listener.close()


def _connect(credentials: tls.Credentials, address: tuple[str, int]) -> tls.TlsConn:
    sock = socket.create_connection(address, timeout=5)
    return tls.handshake(sock, credentials.client_context(), server_hostname="localhost",
                         deadline=time.monotonic() + 5)


def test_a_large_exchange_and_the_tls_half_close(
        tls_server: tuple[tls.Credentials, tuple[str, int]]) -> None:
    credentials, address = tls_server
    with _connect(credentials, address) as conn:
        assert conn.peer_cert == credentials.cert_der and conn.version == "TLSv1.3"
        payload = bytes(range(256)) * 32768  # 8 MiB: both directions back up
        result = conn.exchange(payload, expect=len(payload), deadline=time.monotonic() + 30)
        assert result.read.complete and result.read.data == payload
        assert isinstance(conn.send_all(b"last", deadline=time.monotonic() + 5), Done)
        assert isinstance(conn.shutdown_write(), Done)  # close_notify, then FIN
        tail = conn.read_to_eof(deadline=time.monotonic() + 5)
        assert tail.data == b"last" and isinstance(tail.end, Closed) and conn.tls_closed


def test_a_client_that_trusts_another_ca_is_refused(
        tls_server: tuple[tls.Credentials, tuple[str, int]]) -> None:
    _credentials, address = tls_server
    other = tls.make_credentials(Path(tempfile.mkdtemp(prefix="sockgrade-test-tls-")))
    sock = socket.create_connection(address, timeout=5)
    with sock, pytest.raises(tls.HandshakeFailed) as caught:
        tls.handshake(sock, other.client_context(), server_hostname="localhost",
                      deadline=time.monotonic() + 5)
    assert caught.value.kind == "verify" and "issuer" in caught.value.reason


def test_a_plain_echo_of_the_client_hello_is_recognised() -> None:
    """A plain TCP echo server sends the ClientHello back: the failure says so."""
    credentials = tls.make_credentials(Path(tempfile.mkdtemp(prefix="sockgrade-test-tls-")))
    listener = socket.create_server(("127.0.0.1", 0))

    def echo() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):  # the client resets once it has seen enough
            while data := conn.recv(65536):
                conn.sendall(data)

    threading.Thread(target=echo, daemon=True).start()
    sock = socket.create_connection(listener.getsockname(), timeout=5)
    with sock, listener, pytest.raises(tls.HandshakeFailed) as caught:
        tls.handshake(sock, credentials.client_context(), server_hostname="localhost",
                      deadline=time.monotonic() + 5)
    assert caught.value.echoed and caught.value.kind == "tls"


def test_a_tls_alert_mid_stream_is_a_reset_that_says_tls(
        tls_server: tuple[tls.Credentials, tuple[str, int]]) -> None:
    """Bytes that are no TLS record, after the handshake, end the read as a Reset naming TLS."""
    credentials, _address = tls_server
    listener = socket.create_server(("127.0.0.1", 0))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(credentials.cert, credentials.key)

    def garble() -> None:
        conn, _ = listener.accept()
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as secure:
            secure.recv(10)
            with socket.socket(fileno=os.dup(secure.fileno())) as raw:  # under the TLS layer
                raw.sendall(b"\x17\x03\x03\x00\x05hello")  # a record nobody encrypted

    threading.Thread(target=garble, daemon=True).start()
    with listener, _connect(credentials, listener.getsockname()) as conn:
        conn.send_all(b"go", deadline=time.monotonic() + 5)
        result = conn.read_some(deadline=time.monotonic() + 5)
        assert isinstance(result.end, Reset | Closed), result
        if isinstance(result.end, Reset):
            assert "TLS" in result.end.error


@pytest.mark.slow
@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
def test_reference_verdicts_repeat_20_times_under_load(chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(LAB))


@pytest.mark.docker
@pytest.mark.usefixtures("docker_image")
def test_reference_and_known_bugs_get_the_local_verdicts_under_docker() -> None:
    """The PEM folder is mounted into the container at its own path; the stdlib ssl there
    gives the same verdicts as here (own_cert's certificate ships in the staged folder)."""
    chosen = ("own_cert", "plain_tcp", "client_context", "wraps_listener", "ssl_error_only", "one_recv",
              "dies_on_reset", "allows_tls10")
    passed, results = grade_in_docker(LAB, chosen, jobs=3)
    local = grade(LAB)
    assert signature(passed) == signature(local)
    for bug, result in results.items():
        expected, reasons = KNOWN_BUGS[bug]
        assert_known_bug(result, expected, SKIPPED.get(bug, set()), reasons)
    assert docker_leftovers() == []
