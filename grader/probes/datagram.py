"""Probes every UDP server lab shares, written once and registered per suite.

Theory of operation: a UDP server lab is "a datagram in, a reply datagram
out, to the sender's own address"; only the reply differs (the same bytes
for udp-echo-server, upper case for the socketserver UDP variant).  A suite
describes that as a :class:`DatagramLab` (how to build the i-th request and
its expected reply, and a hint for a wrong reply) and :func:`register`
registers the shared probes under the suite:

- ``startup/bound``: the runner's readiness observation (a UDP socket bound
  where the program was told; nothing is sent, so no datagram is spent);
- ``<category>/one-datagram``: a datagram is answered, from the address it
  was sent to.  Every other probe depends on it: it is what proves that the
  server answers, since UDP has no connection to accept;
- ``robustness/many-clients``: several clients at once each get their own
  reply (docs/labs.md §6, "many clients");
- ``resources/idle-cpu``: no busy loop while idle (its own lane).

:func:`check_reply` (one request, one judged reply) is public for the
suites' own probes.  Sockets are :class:`grader.udp.UdpPeer` objects closed
by ``with`` blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass

from grader.context import ProbeContext
from grader.events import Overflow, Reset, Timeout
from grader.probes.common import register_startup
from grader.probes.generic import IDLE_PARAMS, measure_idle_cpu
from grader.probes.registry import REGISTRY, Param, ProbeFunc
from grader.probes.shared import LabProfile, SharedProbes
from grader.udp import DatagramResult, UdpPeer
from grader.verdict import Evidence, ProbeFailed, excerpt, mismatch

STARTUP = "startup/bound"
MANY_CLIENTS = "robustness/many-clients"
IDLE_CPU = "resources/idle-cpu"

#: (sent, expected, got) -> the likely bug behind a wrong reply.
Hint = Callable[[bytes, bytes, bytes], str]

NO_REPLY_HINT = (
    "reply with the same socket, to the address recvfrom() returned with the datagram: "
    "data, addr = sock.recvfrom(65535); sock.sendto(reply, addr)"
)


@dataclass(frozen=True, kw_only=True)
class DatagramLab(LabProfile):
    """How a UDP server family's clients talk, for the shared probes (:data:`DATAGRAM`).

    ``category`` names the base probe (``<category>/one-datagram``);
    ``request(ctx, i)`` is the i-th sample request (distinct for distinct
    i); ``reply(ctx, request)`` is the reply a correct server sends;
    ``hint`` explains a wrong reply.
    """

    category: str
    request: Callable[[ProbeContext, int], bytes]
    reply: Callable[[ProbeContext, bytes], bytes]
    hint: Hint

    @property
    def base(self) -> str:
        """The id of the probe every other one depends on."""
        return f"{self.category}/one-datagram"


#: The probes every UDP server lab shares beyond its startup and base probes, declared
#: below and registered per family by :func:`register`.
DATAGRAM: SharedProbes[DatagramLab] = SharedProbes(default_depends=lambda lab: (lab.base,))


def peer(ctx: ProbeContext, *, connected: bool = True, rcvbuf: int | None = None) -> UdpPeer:
    """A new UDP peer aimed at the server under test (close it with ``with``)."""
    made = UdpPeer(ctx.address, connected=connected, rcvbuf=rcvbuf, opener=ctx.opener)
    made.patience = ctx.owed_time  # a reply's deadline is judged on a server that had the CPU
    return made


def judge_reply(
    ctx: ProbeContext, sent: bytes, expected: bytes, result: DatagramResult, *, hint: Hint,
    what: str = "reply",
) -> None:
    """Raise :class:`ProbeFailed` unless ``result`` is the datagram ``expected``."""
    if isinstance(result.end, Timeout):
        raise ProbeFailed(
            f"no {what} reached the sender within {ctx.reply_timeout:g} s",
            hint=NO_REPLY_HINT,
            evidence=Evidence(sent=excerpt(sent), expected=excerpt(expected),
                              actual="no datagram", transport=result.end.describe()),
        )
    if isinstance(result.end, Reset):
        raise ProbeFailed(
            "nothing is bound at the server's address any more (ICMP port unreachable)",
            hint="the server stopped or closed its socket: keep serving datagrams forever",
            evidence=Evidence(transport=result.end.describe()),
        )
    if isinstance(result.end, Overflow):
        raise ProbeFailed(
            f"the {what} is larger than {result.end.cap} bytes",
            hint="send back one datagram per request, no bigger than the request allows",
            evidence=Evidence(expected=excerpt(expected), actual=excerpt(result.data)),
        )
    if result.data != expected:
        raise mismatch(f"the {what} differs from the expected datagram "
                       f"({len(result.data)} bytes, expected {len(expected)})",
                       sent=sent, expected=expected, actual=result.data, end=None,
                       hint=hint(sent, expected, result.data))


def check_reply(
    ctx: ProbeContext, lab: DatagramLab, client: UdpPeer, request: bytes, *, what: str = "reply"
) -> None:
    """Send ``request`` from ``client`` and require the lab's reply back before the deadline."""
    expected = lab.reply(ctx, request)
    sent = client.send(request, deadline=ctx.reply_deadline())
    if isinstance(sent, Reset | Timeout):
        raise ProbeFailed(f"could not send the datagram: {sent.describe()}",
                          hint="the server is gone (nothing bound at its address)")
    result = client.receive(deadline=ctx.reply_deadline())
    ctx.log(f"sent {len(request)} bytes, got {len(result.data)} back ({result.end.describe()})")
    judge_reply(ctx, request, expected, result, hint=lab.hint, what=what)


def register(lab: DatagramLab, *, which: Iterable[str] | None = None) -> None:
    """Register the shared probes (all by default: startup, base, many clients, idle CPU).

    Raises ValueError for an unknown name.
    """
    chosen = tuple(which) if which is not None else (STARTUP, lab.base, *DATAGRAM.names())
    for name in chosen:
        if name == STARTUP:
            register_startup(lab.suite, name=STARTUP, doc=(
                "The server starts and binds a UDP socket on the host and port given on its "
                "command line before the startup deadline (observed from its sockets; no "
                "datagram is spent). Source: docs/labs.md (\"Starting programs\")."))
        elif name == lab.base:
            _one_datagram(lab)
    DATAGRAM.register(lab, [n for n in chosen if n not in (STARTUP, lab.base)])


def _one_datagram(lab: DatagramLab) -> None:
    def probe(ctx: ProbeContext) -> None:
        request = lab.request(ctx, 0)
        expected = lab.reply(ctx, request)
        with peer(ctx, connected=False) as client:
            client.send(request, deadline=ctx.reply_deadline())
            result = client.receive(deadline=ctx.reply_deadline())
            ctx.log(f"sent {len(request)} bytes from {client.local}, got {len(result.data)} "
                    f"from {result.source} ({result.end.describe()})")
        if result.complete and result.source != ctx.address:
            host, port = result.source or ("?", 0)
            raise ProbeFailed(
                f"the reply came from {host}:{port}, not from the server's address "
                f"{ctx.address[0]}:{ctx.address[1]}",
                hint="reply with the socket that received the datagram; a new socket has "
                     "another port and clients drop datagrams from unknown addresses",
                evidence=Evidence(expected=f"a datagram from {ctx.address}",
                                  actual=f"a datagram from {result.source}"),
            )
        judge_reply(ctx, request, expected, result, hint=lab.hint)

    REGISTRY.probe(lab.suite, lab.base, weight=2, depends=(STARTUP,), requirement=(
        "A datagram sent to the server is answered with the right datagram, from the address "
        "it was sent to. UDP has no connection to accept: this is what proves the server "
        f"answers, so the other probes depend on it. Source: {lab.source}."))(probe)


@DATAGRAM.probe(
    "robustness/many-clients",
    params=lambda _lab: (Param("clients", 5, "count", "clients sending at once"),),
    requirement=(
        "{clients} clients (separate sockets and ports) send a datagram each before reading: "
        "each gets its own reply, and only that. Source: {source} (replies go to each "
        "sender's own address)."
    ),
)
def _many_clients(lab: DatagramLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        count = ctx.param_int("clients")
        with ExitStack() as stack:
            clients = [stack.enter_context(peer(ctx)) for _ in range(count)]
            requests = [lab.request(ctx, 100 + index) for index in range(count)]
            expected = [lab.reply(ctx, request) for request in requests]
            for client, request in zip(clients, requests, strict=True):
                client.send(request, deadline=ctx.reply_deadline())
            ctx.log(f"{count} clients each sent one datagram before reading")
            deadline = ctx.reply_deadline()
            got = [[r] if (r := c.receive(deadline=deadline)).complete else [] for c in clients]
            for index, client in enumerate(clients):
                got[index].extend(client.drain())
        problems = []
        for index, datagrams in enumerate(got):
            if [d.data for d in datagrams] == [expected[index]]:
                continue
            owners = []
            for datagram in datagrams:
                owner = next((i for i, e in enumerate(expected) if e == datagram.data), None)
                owners.append("an unknown datagram" if owner is None else
                              "its own reply" if owner == index else f"client {owner + 1}'s reply")
            problems.append(f"client {index + 1} got " + (", ".join(owners) or "nothing"))
        ctx.log("; ".join(problems) or "every client got its own reply")
        if problems:
            raise ProbeFailed(
                f"replies did not go back to each sender: {'; '.join(problems)}",
                hint="send each reply to the address recvfrom() returned with that datagram; do "
                     "not keep one client address in a variable shared between datagrams or "
                     "threads",
                evidence=Evidence(expected=f"{count} clients, each its own single reply",
                                  details=tuple(problems)),
            )

    return probe


@DATAGRAM.probe(
    "resources/idle-cpu", lane="idle", params=lambda _lab: IDLE_PARAMS,
    requirement=(
        "No busy loop: at most {max_cpu} CPU over {seconds} of idleness after a datagram was "
        "answered (block in recvfrom() or select()). Source: {source}; docs/labs.md §3 "
        "(\"busy loop while idle\")."
    ),
)
def _idle_cpu(lab: DatagramLab) -> ProbeFunc:
    def probe(ctx: ProbeContext) -> None:
        with peer(ctx) as client:
            check_reply(ctx, lab, client, lab.request(ctx, 1))
        measure_idle_cpu(ctx, "with no datagram to serve")

    return probe
