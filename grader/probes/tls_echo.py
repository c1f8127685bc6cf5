"""Probes for TLS echo servers (family ``tls-echo``; docs/labs.md §12): lab 1 over TLS.

Theory of operation: the echo requirements are lab 1's, judged by lab 1's
probes.  This family registers the very functions of :mod:`grader.probes.stream`
(and the shared probes of :mod:`grader.probes.generic`, with a profile that
cites §12) and changes nothing in them: the lab suite sets ``[protocol]
transport = "tls"``, so every ``ctx.connect()`` is a TLS connection
(:class:`grader.tls.TlsConn`) handshaken as a standard client that trusts
only the run's throw-away CA (:meth:`grader.context.ProbeContext.tls_handshake`),
and each probe's bytes travel inside TLS; the half-close becomes
``close_notify`` then FIN.  The echo probes depend on ``tls/handshake``, so a
server with the wrong certificate fails that one probe and the rest are skipped.

The probes of this module are about TLS itself: the handshake and the
certificate presented, clients whose handshake fails (plain TCP, half a
ClientHello then a reset, a client that rejects the certificate), each of
which must leave the server serving, and old protocol versions.  A client
that breaks a handshake is made with the standard :mod:`ssl` module (a
real ClientHello from an :class:`ssl.SSLObject`), never by hand.
"""

from __future__ import annotations

import contextlib
import ssl
import warnings
from collections.abc import Iterator
from dataclasses import replace

from grader import tls
from grader.context import ProbeContext
from grader.events import Reset
from grader.probes import generic, queues, stream
from grader.probes.adapter import judge_reply_then_close
from grader.probes.common import register_startup, text, wait_for
from grader.probes.registry import REGISTRY, Param, ProbeFunc
from grader.verdict import Evidence, ProbeError, ProbeFailed, Tier, excerpt

SUITE = "tls-echo"
HANDSHAKE = "tls/handshake"
ECHO = stream.ECHO
SOURCE = "docs/labs.md §12"

register_startup(SUITE)
probe = REGISTRY.probe


@probe(SUITE, HANDSHAKE, weight=2, depends=("startup/listens",))
def handshake(ctx: ProbeContext) -> None:
    """A standard TLS client that trusts only the course's CA completes the handshake for
    'localhost', and the certificate presented is the one given on the command line (CERT).

    The grader verifies the chain and the host name like any client; when
    that fails, a second handshake that verifies nothing shows what the
    server presented.  Source: docs/labs.md §12 ("The server presents the certificate in CERT").
    """
    credentials = _credentials(ctx)
    plain = ctx.connect(tls_layer=False)
    try:
        secure = ctx.tls_handshake(plain)
    except ProbeFailed as exc:
        presented = _presented(ctx)
        if presented is not None and presented != credentials.cert_der:
            raise ProbeFailed(
                "the server presented a certificate other than the one given on its command line",
                hint="load the files from the command line: context.load_cert_chain(sys.argv[3], "
                     "sys.argv[4]); do not make or ship a certificate of your own",
                evidence=Evidence(expected=tls.describe(credentials.cert_der),
                                  actual=tls.describe(presented),
                                  details=(f"the verifying client said: {exc.reason}",)),
            ) from None
        raise
    ctx.log(f"the server presented {tls.describe(secure.peer_cert)}")
    if secure.peer_cert != credentials.cert_der:  # another certificate from our CA: cannot be
        raise ProbeError("the server presented a certificate of the grader's CA other than CERT")


@probe(SUITE, "tls/plain-http-client", depends=(ECHO,))
def plain_http_client(ctx: ProbeContext) -> None:
    """A client that speaks plain HTTP, not TLS, leaves the server serving the next TLS client.

    The server may close that connection, send a TLS alert, or wait; the
    grader gives it the reply timeout, then closes and connects again.
    Source: docs/labs.md §12 ("a client that speaks plain TCP (an HTTP request").
    """
    _stranger(ctx, "a plain-HTTP client", b"GET / HTTP/1.1\r\nHost: localhost\r\n"
                                          b"Connection: close\r\n\r\n")


@probe(SUITE, "tls/garbage-client", depends=(ECHO,),
       params=(Param("bytes", 1024, "bytes", "size of the garbage"),))
def garbage_client(ctx: ProbeContext) -> None:
    """A client that sends {bytes} of random bytes instead of a ClientHello leaves the server
    serving the next TLS client.

    The first byte is no TLS record type, so any TLS stack refuses at once.
    Source: docs/labs.md §12 ("a client that speaks plain TCP"; "garbage").
    """
    garbage = b"\x00" + ctx.rng.randbytes(max(0, ctx.param_int("bytes") - 1))
    _stranger(ctx, "a client sending garbage", garbage)


@probe(SUITE, "tls/half-hello-reset", depends=(ECHO,))
def half_hello_reset(ctx: ProbeContext) -> None:
    """A client that sends half a ClientHello and then resets (RST) leaves the server serving.

    The grader waits until the server has accepted the connection, so its
    handshake is under way when the reset arrives: the server's read fails
    with ConnectionResetError (an OSError, not an ssl.SSLError).
    Source: docs/labs.md §12 ("sends half a ClientHello and then resets").
    """
    hello = _client_hello(_credentials(ctx).client_context())
    conn = ctx.connect(tls_layer=False)
    pids = ctx.program.pids() if ctx.program is not None else []
    end = wait_for(lambda: e if (e := queues.server_end(ctx, conn)) is not None
                   and queues.accepted(pids, e.inode) else None, deadline=ctx.reply_deadline())
    ctx.log("the server accepted the connection" if end is not None else
            "the server did not accept the connection in time; going on")
    half = hello[: len(hello) // 2]
    sent = conn.send_all(half, deadline=ctx.reply_deadline())
    ctx.log(f"sent {len(half)} of the {len(hello)} bytes of a ClientHello ({sent.describe()}), "
            "then RST")
    conn.abort()
    _next_served(ctx, "a client that reset in the middle of its ClientHello",
                 "a reset during the handshake raises ConnectionResetError, which is an OSError "
                 "but not an ssl.SSLError: catch OSError around wrap_socket()/accept() too")


@probe(SUITE, "tls/client-rejects-cert", depends=(ECHO,))
def client_rejects_cert(ctx: ProbeContext) -> None:
    """A client that trusts no CA rejects the certificate (a TLS alert, then close); the server
    goes on serving the next client.

    The server's handshake ends with an ssl.SSLError ("alert unknown ca")
    that must end only that connection.
    Source: docs/labs.md §12 ("one that rejects the certificate").
    """
    distrust = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, but trusts no CA at all
    plain = ctx.connect(tls_layer=False)
    try:
        ctx.tls_handshake(plain, context=distrust)
    except ProbeFailed as exc:
        ctx.log(f"the client rejected the server: {exc.reason}")
    else:
        raise ProbeError("a client that trusts no CA accepted the server's certificate")
    plain.close()
    _next_served(ctx, "a client that rejected its certificate",
                 "a client's alert makes the server's handshake raise ssl.SSLError: catch it "
                 "for that connection only, close it and keep serving")


#: The protocol versions a server must refuse, oldest first.
_OLD = (("TLS 1.0", ssl.TLSVersion.TLSv1), ("TLS 1.1", ssl.TLSVersion.TLSv1_1))


@probe(SUITE, "tls/old-versions-refused", tier=Tier.INFORMATIONAL, depends=(HANDSHAKE,))
def old_versions_refused(ctx: ProbeContext) -> None:
    """A client that offers only TLS 1.0, or only TLS 1.1, is refused, and the next client is
    served.

    Informational: the grader must be able to offer those versions at all,
    which depends on its OpenSSL build (tested first, in memory, against
    itself; when it cannot, this probe is an error, never a failure).
    Source: docs/labs.md §12 ("TLS 1.2 is the oldest version to accept").
    """
    credentials = _credentials(ctx)
    for label, version in _OLD:
        client = _old_client(version)
        why = _cannot_offer(client, credentials, version)
        if why is not None:
            raise ProbeError(f"this grader's OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer "
                             f"{label} ({why}): the probe cannot run here")
        plain = ctx.connect(tls_layer=False)
        try:
            secure = ctx.tls_handshake(plain, context=client)
        except ProbeFailed as exc:
            ctx.log(f"{label} only: refused ({exc.reason})")
            plain.close()
            _next_served(ctx, f"a client that offered only {label}",
                         "a refused handshake raises ssl.SSLError in wrap_socket() (or in "
                         "accept() on a wrapped listening socket): catch it for that "
                         "connection only, close it and keep serving")
            continue
        raise ProbeFailed(
            f"the server accepted a client that offered only {label}",
            hint="keep Python's default context.minimum_version (TLS 1.2) and security level; "
                 "do not lower them for compatibility",
            evidence=Evidence(expected="a refused handshake (protocol_version alert)",
                              actual=f"{secure.version} with {secure.cipher}"),
        )


@probe(SUITE, "shutdown/half-close", depends=(ECHO,))
def half_close(ctx: ProbeContext) -> None:
    """After the client's TLS half-close (close_notify, then SHUT_WR) the server sends all it
    owes, then closes: the client sees the whole echo and then EOF, with or without the
    server's own close_notify, not a reset and not endless data.

    The message and the close_notify leave in one write, so they arrive
    together on any machine: a server that reads once and closes leaves the
    close_notify unread, and its kernel answers with a reset.
    Source: docs/labs.md §12 ("the server then finishes sending whatever is still pending and closes").
    """
    message = text(ctx.rng, 200, 600) + b"\n"
    with ctx.connect() as conn:
        if not isinstance(conn, tls.TlsConn):
            raise ProbeError("shutdown/half-close needs a TLS connection ([protocol] transport)")
        end = conn.shutdown_write(last=message)
        ctx.log(f"sent {len(message)} bytes and close_notify in one write, then SHUT_WR "
                f"({end.describe()})")
        result = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=len(message) + 65536)
        closing = ("with its close_notify" if conn.tls_closed else
                   "without close_notify" if conn.ragged_eof else "")
        ctx.log(f"read {len(result.data)} bytes, ended: {result.end.describe()} {closing}")
    try:
        judge_reply_then_close(message, result)
    except ProbeFailed as exc:
        hint = exc.hint
        if isinstance(result.end, Reset) and result.data == message:
            hint = ("it closed with the client's close_notify unread (the kernel then sends "
                    "RST): keep reading until recv() returns b'', then close")
        raise ProbeFailed(exc.reason, hint=hint, evidence=exc.evidence) from None


# -- helpers -------------------------------------------------------------


def _credentials(ctx: ProbeContext) -> tls.Credentials:
    if ctx.credentials is None:
        raise ProbeError("this lab's command has no {cert} and {key}: the grader made no "
                         "certificate to hand the server")
    return ctx.credentials


def _presented(ctx: ProbeContext) -> bytes | None:
    """The certificate the server presents to a client that verifies nothing (DER), or None
    when even that handshake fails."""
    blind = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    blind.check_hostname = False
    blind.verify_mode = ssl.CERT_NONE
    conn = ctx.connect(tls_layer=False)
    try:
        secure = tls.handshake(conn.sock, blind, server_hostname="localhost",
                               deadline=ctx.reply_deadline())
    except tls.HandshakeFailed:
        return None
    finally:
        conn.close()
    return secure.peer_cert or None


def _client_hello(context: ssl.SSLContext) -> bytes:
    """The bytes of a real ClientHello for 'localhost', made by ``context`` in memory."""
    obj = context.wrap_bio(ssl.MemoryBIO(), outgoing := ssl.MemoryBIO(), server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    if not hello:
        raise ProbeError("the ssl module made no ClientHello")
    return hello


@contextlib.contextmanager
def _old_on_purpose() -> Iterator[None]:
    """Offering TLS 1.0/1.1 is the probe's job: the ssl module's deprecation warning for
    setting them says nothing to a grader's user, so that one warning is silenced here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"ssl\.TLSVersion\.TLSv1(_1)? is deprecated",
                                category=DeprecationWarning)
        yield


def _old_client(version: ssl.TLSVersion) -> ssl.SSLContext:
    """A client that offers only ``version`` and accepts any certificate (it tests the version)."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    try:
        with _old_on_purpose():
            client.minimum_version = client.maximum_version = version
        client.set_ciphers("DEFAULT:@SECLEVEL=0")  # old versions need SHA-1 signatures
    except (ValueError, ssl.SSLError) as exc:
        raise ProbeError(f"this grader's OpenSSL cannot be set to offer {version.name}: "
                         f"{exc}") from None
    return client


def _cannot_offer(client: ssl.SSLContext, credentials: tls.Credentials,
                  version: ssl.TLSVersion) -> str | None:
    """Why ``client`` cannot complete a ``version`` handshake with a willing server in memory,
    or None when it can (so a refusal by the server under test is the server's doing)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        with _old_on_purpose():
            server.minimum_version = version
        server.set_ciphers("DEFAULT:@SECLEVEL=0")
        server.load_cert_chain(credentials.cert, credentials.key)
    except (ValueError, ssl.SSLError, OSError) as exc:
        return str(exc)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    ours = client.wrap_bio(c_in, c_out, server_hostname="localhost")
    theirs = server.wrap_bio(s_in, s_out, server_side=True)
    done = [False, False]
    for _ in range(10):  # a TLS 1.0 handshake is two round trips
        for index, (obj, out, peer_in) in enumerate(((ours, c_out, s_in), (theirs, s_out, c_in))):
            if not done[index]:
                try:
                    obj.do_handshake()
                    done[index] = True
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError as exc:
                    return str(exc.reason or exc)
            peer_in.write(out.read())
        if all(done):
            return None if ours.version() == {ssl.TLSVersion.TLSv1: "TLSv1",
                                              ssl.TLSVersion.TLSv1_1: "TLSv1.1"}[version] \
                else f"negotiated {ours.version()}"
    return "the in-memory handshake did not finish"


def _stranger(ctx: ProbeContext, who: str, data: bytes) -> None:
    """Connect without TLS, send ``data``, give the server the reply timeout to react, close;
    then require the next TLS client to be served."""
    with ctx.connect(tls_layer=False) as conn:
        sent = conn.send_all(data, deadline=ctx.reply_deadline())
        reply = conn.read_to_eof(deadline=ctx.reply_deadline(), cap=4096)
        ctx.log(f"{who}: sent {len(data)} bytes ({sent.describe()}); the server answered "
                f"{excerpt(reply.data) if reply.data else 'nothing'} ({reply.end.describe()})")
    _next_served(ctx, who, "a failed handshake raises ssl.SSLError in wrap_socket() (or in "
                           "accept() on a wrapped listening socket): catch it for that "
                           "connection only, close it and keep serving")


def _next_served(ctx: ProbeContext, after: str, hint: str) -> None:
    """A new TLS client must complete a handshake and an echo."""
    try:
        with ctx.connect() as conn:
            stream.LAB.session(ctx, conn, 0)
    except ProbeFailed as exc:
        raise ProbeFailed(f"after {after}, the next client was not served: {exc.reason}",
                          hint=hint, evidence=exc.evidence) from None


# -- lab 1's probes, over TLS --------------------------------------------

#: The stream-echo probes this family runs unchanged, with the TLS wording of a requirement
#: where its words were about plain TCP.
_FROM_STREAM: dict[str, str | None] = {
    "echo/one-message": None,
    "echo/many-messages": None,
    "echo/binary": None,
    "partial/one-byte-writes": (
        "A message written one byte at a time (each byte its own TLS record, small gaps) comes "
        "back whole: one recv() is not one message. Source: docs/labs.md §12; docs/labs.md §1 "
        "(\"in pieces of any size\")."),
    "partial/large-payload": None,
    "shutdown/closes-after-client": None,
    "concurrency/second-client": None,
}


def _register_from_stream() -> None:
    family = REGISTRY.family(stream.SUITE)
    for name, requirement in _FROM_STREAM.items():
        spec = family[name]
        depends = (HANDSHAKE,) if name == ECHO else spec.depends
        REGISTRY.probe(SUITE, name, weight=spec.weight, tier=spec.tier, timeout=spec.timeout,
                       depends=depends, lane=spec.lane, params=spec.params,
                       requirement=requirement or spec.requirement)(_same(spec.func))


def _same(func: ProbeFunc) -> ProbeFunc:
    """``func`` under a function of its own (registering sets the requirement as its docstring)."""
    def probe(ctx: ProbeContext) -> None:
        func(ctx)

    return probe


_register_from_stream()

#: This family as the shared probes of :mod:`grader.probes.generic` see it: lab 1's session.
LAB = replace(stream.LAB, suite=SUITE, source=SOURCE, bulk=None, bulk_depends=())
generic.register(LAB, which=(generic.CLIENT_RESET, generic.RESET_BEFORE_REPLY, generic.SEQUENTIAL,
                             generic.NO_FD_LEAK, generic.IDLE_CPU, generic.IDLE_CPU_CLIENT))
