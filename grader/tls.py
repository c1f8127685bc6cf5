"""TLS for the grader's client connections: throw-away credentials and a TLS :class:`~grader.net.Conn`.

Theory of operation: a TLS lab (docs/labs.md §12) is started with the paths
of a server certificate and key that the grader made for it: a throw-away
certificate authority and a certificate for ``localhost`` and ``127.0.0.1``
issued by it (:func:`make_credentials`, with trustme; nothing here writes
certificates by hand).  The grader connects as a real client would, with
the standard :mod:`ssl` module verifying the server against that authority
(:meth:`Credentials.client_context`).

:class:`TlsConn` is a :class:`~grader.net.Conn` whose bytes travel inside TLS:
an :class:`ssl.SSLObject` works between two memory BIOs, and the connection's
own non-blocking socket carries the ciphertext.  Only the three transport
hooks of ``Conn`` change (``_send``, ``_recv``, :meth:`TlsConn.shutdown_write`),
so every deadline-bound operation (reads, writes, the interleaved exchange)
and every probe written for plain TCP runs unchanged over TLS, and the
socket the selector waits on stays the real one.  Two rules keep readiness
true: a ``_send`` returns a count only once all of its ciphertext is in the
kernel (otherwise it raises BlockingIOError and the caller retries the same
bytes, as ``SSL_write`` itself requires), and a ``_recv`` decrypts every
whole record it pulled from the socket, so no plaintext waits in the TLS
object while the socket looks idle.

The TLS half-close is ``close_notify`` then the TCP FIN (RFC 8446 §6.1).  A
peer's ``close_notify`` reads as EOF; so does a TCP FIN without one (what
Python's ``ssl`` sockets do on ``close()``), noted in :attr:`TlsConn.ragged_eof`.
A TLS alert or protocol error from the peer mid-stream ends the read as a
:class:`~grader.events.Reset` whose text says it was TLS, not TCP.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import selectors
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from grader.events import Event, Reset, Timeout
from grader.net import Conn, reset_or_raise

#: Plaintext bytes encrypted per ``_send`` call (four full TLS records).
SEND_CHUNK = 64 * 1024
#: Ciphertext bytes taken from the socket per read: less than any ``_recv`` asks for, so one
#: read's plaintext always fits in the reply (nothing decrypted is left behind).
RAW_CHUNK = 64 * 1024
#: Seconds :meth:`TlsConn.shutdown_write` waits for room to send its ``close_notify``.
CLOSE_NOTIFY_WAIT = 2.0
#: The names the server certificate is issued for (docs/labs.md §12).
HOSTS = ("localhost", "127.0.0.1")


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """A throw-away CA and a server certificate issued by it, written as PEM files.

    ``cert`` (the certificate) and ``key`` (its private key) are paths in
    ``folder``, a grader-owned folder; ``ca_pem`` is the authority's
    certificate (PEM bytes); ``cert_der`` the server certificate (DER bytes).
    """

    folder: Path
    cert: Path
    key: Path
    ca_pem: bytes
    cert_der: bytes

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA and checks the host name (TLS 1.2+).

        Made on first use and shared by every connection of these credentials (making one
        cost about 10% of a TLS grading's CPU): an ``SSLContext`` may serve many
        connections and threads, resumes no session unless asked, and no caller changes it.
        """
        return self._client_context

    @functools.cached_property
    def _client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.ca_pem.decode())

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the server certificate (DER), hex, as ``openssl x509 -fingerprint`` shows."""
        return fingerprint(self.cert_der)


def fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as colon-separated upper-case hex."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def describe(der: bytes) -> str:
    """A certificate in words: subject, issuer and SHA-256 fingerprint (``der``: DER bytes)."""
    from cryptography import x509  # heavy; only a wrong certificate is described

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return f"{len(der)} bytes that are not a certificate"
    return (f"subject {cert.subject.rfc4514_string() or '(empty)'}, issuer "
            f"{cert.issuer.rfc4514_string() or '(empty)'}, SHA-256 {fingerprint(der)[:23]}...")


def make_credentials(folder: Path) -> Credentials:
    """Make a fresh CA and a certificate for :data:`HOSTS`; write ``cert.pem``, ``key.pem`` and
    the CA's ``ca.pem`` into ``folder`` (which must exist).  Raises OSError when the files
    cannot be written."""
    import trustme  # heavy (cryptography); only the TLS lab makes credentials

    ca = trustme.CA(organization_name="sockgrade throw-away CA")
    issued = ca.issue_cert(*HOSTS, organization_name="sockgrade")
    cert, key = folder / "cert.pem", folder / "key.pem"
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))  # for a client of one's own (--cafile)
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    der = ssl.PEM_cert_to_DER_cert(issued.cert_chain_pems[0].bytes().decode())
    return Credentials(folder=folder, cert=cert, key=key, ca_pem=ca.cert_pem.bytes(), cert_der=der)


class HandshakeFailed(Exception):
    """The TLS handshake did not complete.

    ``kind`` is ``"verify"`` (the server's certificate was rejected: ``reason``
    is OpenSSL's verify message), ``"tls"`` (a TLS alert or protocol error),
    ``"closed"`` (EOF mid-handshake), ``"reset"`` or ``"timeout"``; ``sent``
    counts the raw bytes the client sent, ``hello`` is the start of them (its
    ClientHello) and ``received`` the start of what came back (at most 4 KiB each).
    """

    def __init__(self, kind: str, reason: str, *, sent: int, received: bytes,
                 hello: bytes = b"") -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason
        self.sent = sent
        self.received = received
        self.hello = hello

    @property
    def echoed(self) -> bool:
        """True when what came back starts like what was sent: a plain echo of the ClientHello."""
        size = min(len(self.received), len(self.hello), 64)
        return size > 0 and self.received[:size] == self.hello[:size]


class TlsProtocolError(ConnectionAbortedError):
    """A TLS alert or a record that fails to decrypt, mid-stream: the connection is over."""


class TlsConn(Conn):
    """A :class:`Conn` whose bytes are carried by TLS (see the module docstring).

    Made by :func:`handshake`; ``sock`` is the underlying TCP socket.
    ``peer_cert`` is the certificate the server presented (DER), ``version``
    and ``cipher`` the negotiated protocol and suite; ``tls_closed`` turns
    true on the peer's ``close_notify``, ``ragged_eof`` on a TCP EOF without one.
    """

    def __init__(self, sock: socket.socket, obj: ssl.SSLObject, incoming: ssl.MemoryBIO,
                 outgoing: ssl.MemoryBIO) -> None:
        super().__init__(sock, reset_after_peer_fin=True)
        self._obj = obj
        self._incoming = incoming
        self._outgoing = outgoing
        self._out = bytearray()  # ciphertext not yet in the kernel
        self._owed = 0
        self.peer_cert = obj.getpeercert(binary_form=True) or b""
        self.version = obj.version() or "?"
        cipher = obj.cipher()
        self.cipher = cipher[0] if cipher else "?"
        self.tls_closed = False
        self.ragged_eof = False
        self._read_done = False
        self._rx += self._decrypt(RAW_CHUNK)  # records that came with the handshake's last flight

    # -- the transport hooks of Conn -------------------------------------

    def _send(self, data: memoryview) -> int:
        if self._owed:  # the caller retries the bytes whose ciphertext is still queued
            self._flush()
            owed, self._owed = self._owed, 0
            return owed
        self._flush()
        size = min(len(data), SEND_CHUNK)
        try:
            self._obj.write(data[:size])
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            raise TlsProtocolError("TLS: the server had already closed the connection; nothing "
                                   "more can be sent") from None
        except ssl.SSLError as exc:
            raise TlsProtocolError(f"TLS error while sending, not a TCP reset: {_why(exc)}") from None
        self._out += self._outgoing.read()
        try:
            self._flush()
        except BlockingIOError:
            self._owed = size
            raise
        return size

    def _recv(self, size: int) -> bytes:
        with contextlib.suppress(BlockingIOError):
            self._flush()  # e.g. an answer to the peer's KeyUpdate
        while True:
            data = self._decrypt(size)
            if data or self._read_done:
                return data
            raw = self.sock.recv(RAW_CHUNK)  # BlockingIOError and resets go to the caller
            quick_ack(self.sock)
            if raw:
                self._incoming.write(raw)
            else:
                self._incoming.write_eof()

    def shutdown_write(self, *, last: bytes = b"") -> Event:
        """The TLS half-close: ``close_notify``, then the TCP FIN (RFC 8446 §6.1).

        ``last`` (bytes) is encrypted and handed to the kernel in the same
        write as the ``close_notify``, so both arrive together: a server that
        reads once and closes finds the alert unread whatever the timing.
        Reading stays possible.  Returns :class:`Done`, :class:`Reset`, or
        :class:`Timeout` when the bytes found no room for
        :data:`CLOSE_NOTIFY_WAIT` seconds.
        """
        if last:
            try:
                self._obj.write(last)  # a memory BIO takes it all
            except ssl.SSLError as exc:
                return Reset(error=f"TLS error while sending: {_why(exc)}")
        with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLWantWriteError):
            try:
                self._obj.unwrap()
            except ssl.SSLError as exc:
                if not isinstance(exc, ssl.SSLWantReadError | ssl.SSLWantWriteError):
                    return Reset(error=f"TLS error on close_notify: {_why(exc)}")
        self._out += self._outgoing.read()
        deadline = time.monotonic() + CLOSE_NOTIFY_WAIT
        with selectors.DefaultSelector() as waiting:
            waiting.register(self.sock, selectors.EVENT_WRITE)
            while self._out:
                try:
                    self._flush()
                except BlockingIOError:
                    if not waiting.select(max(0.0, deadline - time.monotonic())):
                        return Timeout(after=CLOSE_NOTIFY_WAIT)
                except OSError as exc:
                    return reset_or_raise(exc)
        return super().shutdown_write()

    # -- internals -------------------------------------------------------

    def _flush(self) -> None:
        """Hand queued ciphertext to the kernel; BlockingIOError while some remains."""
        while self._out:
            sent = self.sock.send(self._out)
            del self._out[:sent]

    def _decrypt(self, size: int) -> bytes:
        """Plaintext from whole records already in the incoming BIO, at most ``size`` bytes
        (b"" when none); marks the end of reading on close_notify or EOF."""
        out = bytearray()
        while len(out) < size and not self._read_done:
            try:
                chunk = self._obj.read(size - len(out))
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.tls_closed = self._read_done = True
                break
            except ssl.SSLEOFError:
                self.ragged_eof = self._read_done = True
                break
            except ssl.SSLError as exc:
                if out:
                    break  # hand over what came before the error; the next read raises it
                raise TlsProtocolError(
                    f"TLS error from the server, not a TCP reset: {_why(exc)}") from None
            if not chunk:  # close_notify
                self.tls_closed = self._read_done = True
                break
            out += chunk
        with contextlib.suppress(BlockingIOError, OSError):
            self._out += self._outgoing.read()
            self._flush()
        return bytes(out)


def quick_ack(sock: socket.socket) -> None:
    """Acknowledge what was read at once (Linux ``TCP_QUICKACK``, which lasts until the next read).

    A TLS 1.3 server writes its session tickets after the handshake and then
    a small echo; with Nagle's algorithm (on by default) the echo waits for
    the tickets' ACK, which a delayed ACK holds back for up to 40 ms.  The
    grader's prompt ACK removes that wait from every connection; it changes
    timing only, never what is judged.
    """
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _why(exc: ssl.SSLError) -> str:
    """OpenSSL's words for an SSL error (``verify_message`` for a rejected certificate)."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLEOFError):
        return "the peer closed the connection without close_notify"
    return str(exc.reason or exc.strerror or exc).lower().replace("_", " ")


def handshake(sock: socket.socket, context: ssl.SSLContext, *, server_hostname: str | None,
              deadline: float) -> TlsConn:
    """Run a client TLS handshake over the connected ``sock`` before ``deadline``.

    ``sock`` is switched to non-blocking mode; on success it belongs to the
    returned :class:`TlsConn`, on failure the caller still owns it (the
    handshake's last alert, if any, has been sent).  ``server_hostname`` is
    sent as SNI and checked against the certificate when the context checks
    host names.  Raises :class:`HandshakeFailed`.
    """
    sock.setblocking(False)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=server_hostname)
    received, hello = bytearray(), bytearray()
    sent = 0

    def failure(kind: str, reason: str) -> HandshakeFailed:
        return HandshakeFailed(kind, reason, sent=sent, received=bytes(received),
                               hello=bytes(hello))

    with selectors.DefaultSelector() as waiting:
        waiting.register(sock, selectors.EVENT_READ)

        def push(data: bytes) -> None:
            nonlocal sent
            view = memoryview(data)
            while view:
                try:
                    moved = sock.send(view)
                except BlockingIOError:
                    waiting.modify(sock, selectors.EVENT_WRITE)
                    ready = waiting.select(max(0.0, deadline - time.monotonic()))
                    waiting.modify(sock, selectors.EVENT_READ)
                    if not ready:
                        raise failure("timeout", "the handshake did not finish in time") from None
                    continue
                hello.extend(view[: max(0, min(moved, 4096 - len(hello)))])
                sent += moved
                view = view[moved:]

        def rejected(kind: str, reason: str) -> HandshakeFailed:
            with contextlib.suppress(OSError, HandshakeFailed):
                push(outgoing.read())  # our alert, as a real client sends it
            return failure(kind, reason)

        while True:
            try:
                obj.do_handshake()
                push(outgoing.read())
                return TlsConn(sock, obj, incoming, outgoing)
            except TlsProtocolError as exc:  # a bad record right behind the handshake
                raise failure("tls", str(exc)) from None
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError as exc:
                raise rejected("verify", _why(exc)) from None
            except ssl.SSLEOFError:
                raise rejected("closed", "the server closed the connection during the "
                                         "handshake") from None
            except ssl.SSLError as exc:
                raise rejected("tls", _why(exc)) from None
            except OSError as exc:
                raise failure("reset", reset_or_raise(exc).describe()) from None
            try:
                push(outgoing.read())
                if not waiting.select(max(0.0, deadline - time.monotonic())):
                    raise failure("timeout", "the server sent no complete handshake reply in time")
                raw = sock.recv(RAW_CHUNK)
                quick_ack(sock)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise failure("reset", reset_or_raise(exc).describe()) from None
            if raw:
                received.extend(raw[: max(0, 4096 - len(received))])
                incoming.write(raw)
            else:
                incoming.write_eof()


__all__ = [
    "Credentials",
    "HandshakeFailed",
    "TlsConn",
    "TlsProtocolError",
    "describe",
    "fingerprint",
    "handshake",
    "make_credentials",
]
