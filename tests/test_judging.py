"""Millisecond unit tests of the shared judging code, against the fake peer (no sockets).

Covers every branch of :func:`grader.probes.common.echo_hint`, ``judge_echo``
and ``check_echo``, :func:`grader.probes.adapter.judge_reply_then_close`,
:func:`grader.probes.generic.expect_close`, the UDP labs' ``judge_reply`` and
``datagram_hint``,
each framing adapter's ``explain``/``check``/``expect_reply``/``begin``/
``bulk``/``after_bulk``, ``adapter_for``/``require``, and the evidence that
:func:`grader.verdict.mismatch` builds.  Hints are checked by their key words,
so a changed branch fails here in milliseconds instead of in a real grading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, cast

import pytest

from grader.codecs import framing
from grader.context import ProbeContext
from grader.events import Closed, Done, Event, Overflow, Reset, Timeout
from grader.fakepeer import (
    PIPE_ERROR,
    RESET_ERROR,
    FakeConn,
    Peer,
    add_newline,
    as_conn,
    decode_and_crash,
    echo,
    keep,
    silent,
    strip,
    upper,
)
from grader.net import ReadResult
from grader.probes import adapter as adapters
from grader.probes.adapter import Adapter, adapter_for, adapter_for_codec, judge_reply_then_close
from grader.probes.common import check_echo, echo_hint, judge_echo
from grader.probes.datagram import judge_reply
from grader.probes.generic import expect_close
from grader.probes.udp_echo import datagram_hint
from grader.udp import DatagramResult
from grader.verdict import EXCERPT, ProbeError, ProbeFailed, excerpt, mismatch

#: The frozen virtual clock every fake and context here shares: Timeout.after values are exact.
NOW = 1000.0
#: The reply timeout of the fake context, in seconds.
REPLY = 2.0


def clock() -> float:
    return NOW


class FakeCtx:
    """What the judging code reads from a :class:`ProbeContext`: ``reply_deadline()``,
    ``reply_timeout`` and ``log()``; ``adapter_for``/``require`` add ``protocol``,
    ``assignment.id`` and ``config.name``."""

    def __init__(self, protocol: Mapping[str, Any] | None = None) -> None:
        self.reply_timeout = REPLY
        self.protocol = dict(protocol or {})
        self.assignment = SimpleNamespace(id="lab-test")
        self.config = SimpleNamespace(name="echo/probe")
        self.lines: list[str] = []

    def reply_deadline(self, seconds: float | None = None) -> float:
        return NOW + (self.reply_timeout if seconds is None else seconds)

    def log(self, text: str) -> None:
        self.lines.append(text)


def ctx_of(fake: FakeCtx) -> ProbeContext:
    return cast(ProbeContext, fake)


def conn_to(peer: Peer, **kwargs: Any) -> FakeConn:
    return FakeConn(peer, now=clock, **kwargs)


def failure(action: Callable[[], None]) -> ProbeFailed:
    """The ProbeFailed ``action`` raises (the test fails if it passes)."""
    with pytest.raises(ProbeFailed) as info:
        action()
    return info.value


def has(text: str, *words: str) -> bool:
    return all(word in text for word in words)


TIMEOUT: Event = Timeout(after=REPLY)
RESET: Event = Reset(error=RESET_ERROR)


# -- echo_hint: one case per branch ------------------------------------------------

HINTS = [
    ("overflow", b"hello", b"hello" * 9, Overflow(cap=45), ("sends more than it received",)),
    ("reset-after-part", b"hello world", b"hello", RESET, ("data still unread", "RST", "b''")),
    ("reset-nothing", b"hello", b"", RESET, ("reset the connection", "unhandled exception")),
    ("reset-garbled", b"hello", b"HELLO", RESET, ("unhandled exception",)),
    ("newline-added", b"hello", b"hello\n", Done(), ("adds a newline",)),
    ("newlines-added", b"hello", b"hello\n\n", TIMEOUT, ("adds a newline",)),
    ("strip-spaces", b"  hello  ", b"hello", TIMEOUT, ("strips whitespace", ".strip()")),
    ("strip-crlf", b"hello\r\n", b"hello", TIMEOUT, ("strips whitespace",)),
    ("part-then-close", b"hello world", b"hello", Closed(), ("closed after echoing part", "loop on recv()")),
    ("part-then-wait", b"hello world", b"hello", TIMEOUT, ("only part came back", "sendall()")),
    ("nothing-then-close", b"hello", b"", Closed(), ("closed the connection without echoing",)),
    ("nothing-then-wait", b"hello", b"", TIMEOUT, ("nothing came back",)),
    ("same-length-changed", b"caf\xc3\xa9!", b"caf\xef\xbf\xbd", Closed(),
     ("bytes were changed", "raw bytes")),
    ("other", b"hello", b"goodbye!", Done(), ("send back exactly the bytes received, in order",)),
]


@pytest.mark.parametrize(("sent", "got", "end", "words"), [case[1:] for case in HINTS],
                         ids=[case[0] for case in HINTS])
def test_echo_hint_branches(sent: bytes, got: bytes, end: Event, words: tuple[str, ...]) -> None:
    hint = echo_hint(sent, got, end)
    assert has(hint, *words), hint


def test_echo_hint_branches_are_distinct() -> None:
    # every case above is a different branch: no two distinct branches share a hint
    hints = {case[0]: echo_hint(case[1], case[2], case[3]) for case in HINTS}
    same = {("newline-added", "newlines-added"), ("strip-spaces", "strip-crlf"),
            ("reset-nothing", "reset-garbled")}
    groups = {frozenset(pair) for pair in same}
    for a in hints:
        for b in hints:
            if a < b and frozenset((a, b)) not in groups:
                assert hints[a] != hints[b], (a, b)


# -- judge_echo and mismatch evidence -------------------------------------------------


def test_judge_echo_passes_on_the_exact_bytes() -> None:
    judge_echo(b"hello", ReadResult(data=b"hello", end=Done(), elapsed=0.0))


@pytest.mark.parametrize(
    ("data", "end", "words", "offset"),
    [
        (b"hel", Closed(), ("3 of 5 bytes back", "FIN/EOF"), 3),
        (b"heLLo", Done(), ("5 of 5 bytes back", "completed"), 2),
        (b"", TIMEOUT, ("0 of 5 bytes back", "timed out after 2.00 s"), 0),
    ],
    ids=["short-closed", "complete-but-different", "nothing"],
)
def test_judge_echo_fails_with_evidence(data: bytes, end: Event, words: tuple[str, ...],
                                        offset: int) -> None:
    exc = failure(lambda: judge_echo(b"hello", ReadResult(data=data, end=end, elapsed=0.0),
                                     what="reply"))
    assert has(exc.reason, "the reply differs from what was sent", *words)
    assert exc.hint == echo_hint(b"hello", data, end)
    evidence = exc.evidence
    assert evidence.sent == evidence.expected == excerpt(b"hello")
    assert evidence.actual == excerpt(data)
    assert evidence.first_difference == offset
    assert evidence.transport == end.describe()
    assert evidence.details == ()


def test_mismatch_shows_the_bytes_around_a_late_difference() -> None:
    expected = bytes(range(48, 58)) * 20  # 200 bytes
    actual = expected[:100] + b"X" + expected[101:]
    exc = mismatch("differs", sent=None, expected=expected, actual=actual, end=None, hint="h")
    evidence = exc.evidence
    assert evidence.first_difference == 100
    assert evidence.sent is None and evidence.transport is None
    assert evidence.details == (
        f"around offset 100: expected {expected[84:116]!r}, got {actual[84:116]!r}",
    )
    assert "first difference at byte offset 100" in evidence.lines()
    assert " ... " in (evidence.expected or "")  # long payloads show head and tail
    assert "(200 bytes)" in (evidence.expected or "")


@pytest.mark.parametrize(
    ("expected", "actual", "offset", "details"),
    [
        (b"a" * 100, b"a" * (EXCERPT // 2) + b"b" * 60, EXCERPT // 2, False),  # at the limit: none
        (b"a" * 100, b"a" * (EXCERPT // 2 + 1) + b"b" * 59, EXCERPT // 2 + 1, True),
        (b"a" * 100, b"a" * 60, 60, True),  # a short reply differs where it ends
        (b"abc", b"abc", None, False),
        (b"", b"x", 0, False),
    ],
    ids=["offset-40", "offset-41", "short", "equal", "empty-expected"],
)
def test_mismatch_first_difference_and_excerpt(expected: bytes, actual: bytes, offset: int | None,
                                               details: bool) -> None:
    evidence = mismatch("r", sent=b"s", expected=expected, actual=actual, end=Closed(),
                        hint="h").evidence
    assert evidence.first_difference == offset
    assert bool(evidence.details) is details
    assert evidence.transport == "peer closed the connection (FIN/EOF)"
    assert "transport: peer closed the connection (FIN/EOF)" in evidence.lines()
    assert evidence.sent == excerpt(b"s")


# -- check_echo over the fake peer -------------------------------------------------------

MESSAGE = b"hello, world"

CHECKS = [
    ("upper", Peer(reply=upper), MESSAGE, ("differs", "12 of 12"), ("bytes were changed",), "completed"),
    ("one-recv", Peer(reply=keep(5)), MESSAGE, ("5 of 12",), ("only part came back",),
     "timed out after 2.00 s"),
    ("fin-mid-echo", Peer(fin_after=5), MESSAGE, ("5 of 12",), ("closed after echoing part",), "FIN/EOF"),
    ("rst-mid-echo", Peer(rst_after=5), MESSAGE, ("5 of 12",), ("data still unread",), "RST"),
    ("crash", Peer(reply=decode_and_crash), b"\xff\xfe binary", ("0 of 9",), ("unhandled exception",),
     "RST"),
    ("silent", Peer(reply=silent), MESSAGE, ("0 of 12",), ("nothing came back",), "timed out"),
    ("closes-at-once", Peer(fin_after=0), MESSAGE, ("0 of 12",), ("closed the connection without echoing",),
     "FIN/EOF"),
    ("strip", Peer(reply=strip), b"hello\n", ("5 of 6",), ("strips whitespace",), "timed out"),
]


@pytest.mark.parametrize(("peer", "message", "reason", "hint", "transport"),
                         [case[1:] for case in CHECKS], ids=[case[0] for case in CHECKS])
def test_check_echo_mismatch(peer: Peer, message: bytes, reason: tuple[str, ...], hint: tuple[str, ...],
                             transport: str) -> None:
    ctx = FakeCtx()
    conn = conn_to(peer)
    exc = failure(lambda: check_echo(ctx_of(ctx), as_conn(conn), message))
    assert has(exc.reason, *reason), exc.reason
    assert has(exc.hint, *hint), exc.hint
    assert transport in (exc.evidence.transport or "")
    assert conn.writes == ([] if peer.fin_after == 0 else [message])  # a closed peer reads nothing
    assert ctx.lines and "bytes back" in ctx.lines[0]


@pytest.mark.parametrize("peer", [Peer(), Peer(splits=(1, 2, 3))], ids=["echo", "echo-in-pieces"])
def test_check_echo_passes(peer: Peer) -> None:
    ctx = FakeCtx()
    conn = conn_to(peer)
    check_echo(ctx_of(ctx), as_conn(conn), MESSAGE)
    assert conn.writes == [MESSAGE]
    assert conn.waited == 0.0  # the read_for(0.0) for extra bytes waits no time


@pytest.mark.parametrize(
    ("peer", "extra", "hint"),
    [(Peer(reply=add_newline), 1, "adds a newline"),
     (Peer(flood=b"x"), None, "send back exactly the bytes received, in order")],
    ids=["newline", "endless"],
)
def test_check_echo_extra_bytes(peer: Peer, extra: int | None, hint: str) -> None:
    exc = failure(lambda: check_echo(ctx_of(FakeCtx()), as_conn(conn_to(peer)), MESSAGE, what="greeting"))
    assert has(exc.reason, "the greeting has", "extra bytes after the message")
    if extra is not None:
        assert f"has {extra} extra bytes" in exc.reason
    assert hint in exc.hint
    assert exc.evidence.transport is None  # the echo itself completed
    assert exc.evidence.first_difference == len(MESSAGE)


@pytest.mark.parametrize(
    ("peer", "transport"),
    [(Peer(rst_after=0), "connection reset"), (Peer(read_limit=4), "timed out after 2.00 s")],
    ids=["reset", "not-reading"],
)
def test_check_echo_send_fails(peer: Peer, transport: str) -> None:
    exc = failure(lambda: check_echo(ctx_of(FakeCtx()), as_conn(conn_to(peer)), MESSAGE))
    assert has(exc.reason, "could not send the message", transport)
    assert has(exc.hint, "stopped reading or reset")


# -- the adapters' explain ----------------------------------------------------------

ADAPTERS: dict[str, Adapter] = {
    "raw": Adapter(),
    "length-prefix": adapter_for_codec(framing.LengthPrefix()),
    "delimiter": adapter_for_codec(framing.Delimiter()),
    "fixed": adapter_for_codec(framing.Fixed(size=4)),
    "close": adapter_for_codec(framing.Close()),
}
SPLIT_WORDS = {
    "length-prefix": ("recv(4) and recv(length)", "loop"),
    "delimiter": ("one recv() is not one line", "until the newline"),
    "fixed": ("recv(16)", "loop until the whole message"),
}


@pytest.mark.parametrize("name", list(ADAPTERS))
@pytest.mark.parametrize(
    ("got", "out_of_step"),
    [(b"abXd", True), (b"abcdefgh!", False), (b"ab", False), (b"", False), (b"abcdefgh", False)],
    ids=["changed", "longer", "prefix", "nothing", "equal"],
)
def test_explain(name: str, got: bytes, out_of_step: bool) -> None:
    hint = ADAPTERS[name].explain(b"abcdefgh", got, "generic hint")
    if out_of_step and name in SPLIT_WORDS:
        assert has(hint, "the reply is out of step with the messages", *SPLIT_WORDS[name])
    else:  # raw and close keep the echo hint; so does a prefix, or a whole echo plus more
        assert hint == "generic hint"


def test_close_adapter_has_a_split_hint_that_explain_does_not_use() -> None:
    # the probes (stream.py, framing.py) use CloseAdapter.split_hint directly, not explain()
    close = ADAPTERS["close"]
    assert close.split_hint is not None and "half-close" in close.split_hint
    assert close.explain(b"abc", b"xyz", "h") == "h"
    assert ADAPTERS["raw"].split_hint is None


# -- streaming adapters' check, expect_reply, begin ----------------------------------

STREAMING = ["raw", "length-prefix", "delimiter", "fixed"]


@pytest.mark.parametrize("name", STREAMING)
def test_streaming_check_passes(name: str) -> None:
    adapter = ADAPTERS[name]
    conn = conn_to(Peer(splits=(1,)))
    adapter.check(ctx_of(FakeCtx()), as_conn(conn), b"hi there")
    assert bytes(conn.received) == adapter.frame(b"hi there")


@pytest.mark.parametrize("name", STREAMING)
def test_streaming_check_changed_reply(name: str) -> None:
    adapter = ADAPTERS[name]
    wire = adapter.frame(b"hi there")
    exc = failure(lambda: adapter.check(ctx_of(FakeCtx()), as_conn(conn_to(Peer(reply=upper))),
                                        b"hi there"))
    assert "differs from what was sent" in exc.reason
    assert exc.evidence.first_difference == wire.index(b"h")
    assert exc.evidence.expected == excerpt(wire)
    if name in SPLIT_WORDS:
        assert has(exc.hint, "out of step", *SPLIT_WORDS[name])
    else:
        assert "bytes were changed" in exc.hint


@pytest.mark.parametrize("name", STREAMING)
def test_streaming_check_partial_reply_keeps_the_echo_hint(name: str) -> None:
    adapter = ADAPTERS[name]
    exc = failure(lambda: adapter.check(ctx_of(FakeCtx()), as_conn(conn_to(Peer(reply=keep(3)))),
                                        b"hi there"))
    assert "only part came back" in exc.hint
    assert "timed out after 2.00 s" in (exc.evidence.transport or "")


@pytest.mark.parametrize("name", STREAMING)
def test_streaming_check_extra_bytes(name: str) -> None:
    adapter = ADAPTERS[name]
    exc = failure(lambda: adapter.check(ctx_of(FakeCtx()), as_conn(conn_to(Peer(reply=add_newline))),
                                        b"hi there"))
    assert "has 1 extra bytes after the message" in exc.reason
    # a whole echo plus more is not a split bug: every framing names the addition
    assert "adds a newline" in exc.hint and "out of step" not in exc.hint


@pytest.mark.parametrize("name", STREAMING)
@pytest.mark.parametrize("peer", [Peer(rst_after=0), Peer(read_limit=0)], ids=["reset", "not-reading"])
def test_streaming_check_send_fails(name: str, peer: Peer) -> None:
    exc = failure(lambda: ADAPTERS[name].check(ctx_of(FakeCtx()), as_conn(conn_to(peer)), b"hi"))
    assert "could not send the message" in exc.reason
    assert "stopped reading or reset" in exc.hint


@pytest.mark.parametrize("name", STREAMING)
def test_streaming_expect_reply_and_begin(name: str) -> None:
    adapter = ADAPTERS[name]
    ctx = ctx_of(FakeCtx())
    conn = conn_to(Peer())
    wire = adapter.frame(b"one") + adapter.frame(b"two")
    conn.send_all(wire, deadline=NOW + 1, chunks=[3])
    adapter.expect_reply(ctx, as_conn(conn), wire)
    adapter.begin(ctx, as_conn(conn), b"three")  # a whole round trip
    assert bytes(conn.received) == wire + adapter.frame(b"three")
    closing = conn_to(Peer(fin_after=2))
    closing.send_all(wire, deadline=NOW + 1)
    exc = failure(lambda: adapter.expect_reply(ctx, as_conn(closing), wire))
    assert "closed after echoing part" in exc.hint  # expect_reply judges with judge_echo


# -- close framing: check, expect_reply, begin, after_bulk ---------------------------

CLOSE = ADAPTERS["close"]


def close_peer(**faults: Any) -> Peer:
    """A close-framing echo server: it answers the whole request once the client half-closes."""
    return Peer(reply=silent, on_eof=faults.pop("on_eof", echo), **faults)


def test_close_check_passes() -> None:
    conn = conn_to(close_peer())
    ctx = FakeCtx()
    CLOSE.check(ctx_of(ctx), as_conn(conn), b"request")
    assert conn.got_eof and bytes(conn.received) == b"request"
    assert "SHUT_WR" in ctx.lines[-1]


CLOSE_CHECKS = [
    pytest.param(close_peer(on_eof=upper), ("echo before the close differs",), ("bytes were changed",),
                 "FIN/EOF", id="changed"),
    pytest.param(close_peer(on_eof=keep(3)), ("echo before the close differs",),
                 ("closed after echoing part",), "FIN/EOF", id="short"),
    pytest.param(close_peer(on_eof=add_newline), ("sent more than it received before closing",),
                 ("it adds a newline",), "FIN/EOF", id="longer"),
    pytest.param(Peer(flood=b"z", close_on_eof=False), ("kept sending data", "more than it received"),
                 ("stop sending and close",), "read cap", id="endless"),
    pytest.param(close_peer(close_on_eof=False), ("never closed", "half-close"), ("100% CPU",),
                 "timed out after 2.00 s", id="never-closes"),
    pytest.param(close_peer(rst_after=7), ("reset the connection instead of closing",), ("SO_LINGER",),
                 "RST", id="reset"),
    pytest.param(close_peer(rst_after=3), ("echo before the close differs",), ("data still unread",),
                 "RST", id="reset-early"),
]


@pytest.mark.parametrize(("peer", "reason", "hint", "transport"), CLOSE_CHECKS)
def test_close_check_fails(peer: Peer, reason: tuple[str, ...], hint: tuple[str, ...],
                           transport: str) -> None:
    exc = failure(lambda: CLOSE.check(ctx_of(FakeCtx()), as_conn(conn_to(peer)), b"request"))
    assert has(exc.reason, *reason), exc.reason
    assert has(exc.hint, *hint), exc.hint
    assert transport in (exc.evidence.transport or "")


# -- judge_reply_then_close: every branch -----------------------------------------------

REPLIES = [
    ("exact-fin", b"abc", Closed(), None, None),
    ("exact-done", b"abc", Done(), None, None),
    ("differs", b"abX", Closed(), ("differs from what was sent",), (None, None)),
    ("short", b"ab", Closed(), ("differs from what was sent",), (None, None)),
    ("longer", b"abcd", Closed(), ("sent more than it received",), (None, None)),
    ("overflow-long", b"abcdef", Overflow(cap=5), ("kept sending data",),
     ("3 bytes then EOF", "6 bytes and more")),
    ("overflow-short", b"abc", Overflow(cap=3), ("kept sending data",),
     ("3 bytes then EOF", "3 bytes and more")),
    ("no-close", b"abc", TIMEOUT, ("never closed",), ("EOF (FIN)", "no close")),
    ("reset", b"abc", RESET, ("reset the connection instead of closing",), ("EOF (FIN)", "RST")),
]


@pytest.mark.parametrize(
    ("data", "end", "reason", "evidence"),
    [pytest.param(*case[1:], id=case[0]) for case in REPLIES])
def test_judge_reply_then_close(data: bytes, end: Event, reason: tuple[str, ...] | None,
                                evidence: tuple[str | None, str | None] | None) -> None:
    result = ReadResult(data=data, end=end, elapsed=0.0)
    if reason is None:
        judge_reply_then_close(b"abc", result)
        return
    exc = failure(lambda: judge_reply_then_close(b"abc", result, what="on connection 2"))
    assert has(exc.reason, *reason) and exc.reason.endswith(" on connection 2"), exc.reason
    assert exc.evidence.transport == end.describe()
    assert evidence is not None
    if evidence == (None, None):  # a mismatch: byte evidence and the echo hint
        assert exc.evidence.expected == excerpt(b"abc")
        assert exc.hint == echo_hint(b"abc", data, end)
    else:
        assert (exc.evidence.expected, exc.evidence.actual) == evidence


def test_judge_reply_then_close_without_what_has_no_suffix() -> None:
    exc = failure(lambda: judge_reply_then_close(b"abc", ReadResult(data=b"abc", end=TIMEOUT, elapsed=0.0)))
    assert exc.reason == "the server never closed the connection after the client's half-close"


# -- bulk and after_bulk ------------------------------------------------------------------

BULK = bytes(range(256)) * 4096  # 1 MiB


@pytest.mark.parametrize("write_first", [False, True], ids=["interleaved", "write-first"])
@pytest.mark.parametrize("buffer", [None, 100_000], ids=["unbounded", "backpressure"])
def test_bulk_echo_comes_back_whole(write_first: bool, buffer: int | None) -> None:
    conn = conn_to(Peer(buffer=buffer, splits=(1000,)))
    result = ADAPTERS["raw"].bulk(as_conn(conn), BULK, deadline=NOW + 30, idle=REPLY,
                                  write_first=write_first)
    assert result.read.complete and result.read.data == BULK
    assert (result.sent, result.send_end) == (len(BULK), Done())


def test_bulk_after_push_starts_where_push_stopped() -> None:
    conn = conn_to(Peer(buffer=300_000))
    start, end = conn.push(BULK, deadline=NOW + 30, idle=0.5)
    assert (start, end) == (300_000, Timeout(after=0.5))  # the peer blocked on its full buffer
    result = ADAPTERS["raw"].bulk(as_conn(conn), BULK, deadline=NOW + 30, idle=REPLY,
                                  write_first=True, start=start)
    assert result.read.data == BULK and result.sent == len(BULK)


def test_bulk_to_a_peer_that_stops_reading_times_out_on_idle() -> None:
    conn = conn_to(Peer(read_limit=200_000))
    result = ADAPTERS["raw"].bulk(as_conn(conn), BULK, deadline=NOW + 30, idle=REPLY, write_first=False)
    assert result.sent == 200_000
    assert result.send_end == Timeout(after=REPLY) and result.read.end == Timeout(after=REPLY)
    assert result.read.data == BULK[:200_000]


def test_bulk_to_a_peer_that_resets() -> None:
    conn = conn_to(Peer(rst_after=70_000))
    result = ADAPTERS["raw"].bulk(as_conn(conn), BULK, deadline=NOW + 30, idle=REPLY, write_first=False)
    assert isinstance(result.read.end, Reset)
    assert result.read.data == BULK[:70_000]
    assert echo_hint(BULK, result.read.data, result.read.end).startswith("it closed the connection with data")


def test_close_bulk_half_closes_then_after_bulk_sees_the_close() -> None:
    conn = conn_to(close_peer())
    result = CLOSE.bulk(as_conn(conn), BULK, deadline=NOW + 30, idle=REPLY, write_first=False)
    assert conn.got_eof
    assert result.read.complete and result.read.data == BULK
    CLOSE.after_bulk(ctx_of(FakeCtx()), as_conn(conn), BULK)
    assert conn.peer_closed()


@pytest.mark.parametrize(
    ("peer", "reason"),
    [(close_peer(close_on_eof=False), "never closed the connection after the client's half-close "
                                      "after the 1048576-byte reply"),
     (close_peer(on_eof=add_newline), "sent more than it received before closing after the "
                                      "1048576-byte reply")],
    ids=["no-close", "more-data"],
)
def test_close_after_bulk_fails(peer: Peer, reason: str) -> None:
    conn = conn_to(peer)
    CLOSE.bulk(as_conn(conn), BULK, deadline=NOW + 30, idle=REPLY, write_first=False)
    exc = failure(lambda: CLOSE.after_bulk(ctx_of(FakeCtx()), as_conn(conn), BULK))
    assert reason in exc.reason


def test_streaming_after_bulk_checks_nothing() -> None:
    ADAPTERS["raw"].after_bulk(ctx_of(FakeCtx()), as_conn(conn_to(Peer(rst_after=0))), BULK)


# -- adapter_for and require --------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "kind"),
    [({}, Adapter), ({"framing": "raw"}, Adapter),
     ({"framing": "length-prefix", "header_bytes": 2}, adapters.LengthPrefixAdapter),
     ({"framing": "delimiter", "delimiter": "\r\n"}, adapters.DelimiterAdapter),
     ({"framing": "fixed", "size": 8}, adapters.FixedAdapter),
     ({"framing": "close"}, adapters.CloseAdapter)],
    ids=["default", "raw", "length-prefix", "delimiter", "fixed", "close"],
)
def test_adapter_for(protocol: dict[str, Any], kind: type[Adapter]) -> None:
    adapter = adapter_for(ctx_of(FakeCtx(protocol)))
    assert type(adapter) is kind
    assert adapter.name == protocol.get("framing", "raw")


@pytest.mark.parametrize("protocol", [{"framing": "morse"}, {"framing": "fixed", "size": 0},
                                      {"framing": "length-prefix", "header_bytes": "x"}],
                         ids=["unknown", "bad-size", "not-a-number"])
def test_adapter_for_bad_protocol_is_a_grader_error(protocol: dict[str, Any]) -> None:
    with pytest.raises(ProbeError, match="assignment lab-test"):
        adapter_for(ctx_of(FakeCtx(protocol)))


def test_require() -> None:
    ctx = ctx_of(FakeCtx({"framing": "fixed"}))
    assert adapters.require(ctx, "fixed", "delimiter").name == "fixed"
    with pytest.raises(ProbeError, match=r"echo/probe applies to the close framing.*'fixed': remove"):
        adapters.require(ctx, "close")


def test_delimiter_frames_stay_one_message() -> None:
    delimiter = adapter_for_codec(framing.Delimiter(delimiter=b"\r\n"))
    assert delimiter.frame(b"a\rb\nc") == b"a.b.c\r\n"
    fixed = ADAPTERS["fixed"]
    assert (fixed.frame(b"abcde"), fixed.one(b"abcde")) == (b"abcde...", b"abcd")


# -- the fake peer itself ----------------------------------------------------------------


def test_fake_read_some_sees_the_peers_writes() -> None:
    conn = conn_to(Peer(splits=(2, 3)))
    conn.send_all(b"abcdefgh", deadline=NOW + 1)
    pieces = [conn.read_some(deadline=NOW + 1).data for _ in range(3)]
    assert pieces == [b"ab", b"cde", b"fgh"]
    last = conn.read_some(deadline=NOW + 1.5)
    assert (last.data, last.end, last.elapsed) == (b"", Timeout(after=1.5), 1.5)
    assert conn.waited == 1.5


def test_fake_send_all_chunks_are_separate_writes() -> None:
    conn = conn_to(Peer(reply=keep(2)))
    assert conn.send_all(b"abcdef", deadline=NOW + 1, chunks=[1, 2], gap=0.25) == Done()
    assert conn.writes == [b"a", b"bc", b"def"]
    assert conn.read_for(0.0).data == b"abcde"
    assert conn.waited == 0.5


@pytest.mark.parametrize(
    ("peer", "end", "data"),
    [(Peer(stall_after=4), Timeout(after=REPLY), b"abcd"),
     (Peer(fin_after=4), Closed(), b"abcd"),
     (Peer(rst_after=4), Reset(error=RESET_ERROR), b"abcd"),
     (Peer(flood=b"ab"), Overflow(cap=64), None)],
    ids=["stall", "fin", "rst", "flood"],
)
def test_fake_faults(peer: Peer, end: Event, data: bytes | None) -> None:
    conn = conn_to(peer)
    conn.send_all(b"abcdefgh", deadline=NOW + 1)
    result = conn.read_to_eof(deadline=NOW + REPLY, cap=64)
    assert result.end == end
    if data is not None:
        assert result.data == data
    else:
        assert result.data.startswith(b"abcdefghabab") and len(result.data) > 64


def test_fake_after_a_reset_reads_eof_and_writes_fail() -> None:
    conn = conn_to(Peer(rst_after=0))
    assert isinstance(conn.read_some(deadline=NOW + 1).end, Reset)
    assert conn.read_some(deadline=NOW + 1).end == Closed()
    assert conn.send_all(b"x", deadline=NOW + 1) == Reset(error=PIPE_ERROR)
    assert conn.shutdown_write() == Reset(error=PIPE_ERROR)


def test_fake_write_after_half_close_is_a_broken_pipe() -> None:
    conn = conn_to(Peer(close_on_eof=False))
    assert conn.shutdown_write() == Done()
    assert conn.send_all(b"x", deadline=NOW + 1) == Reset(error=PIPE_ERROR)
    assert conn.push(b"x", deadline=NOW + 1, idle=1.0) == (0, Reset(error=PIPE_ERROR))


def test_fake_crash_on_eof_is_a_reset() -> None:
    conn = conn_to(Peer(reply=silent, on_eof=decode_and_crash))
    conn.send_all(b"\xff", deadline=NOW + 1)
    conn.shutdown_write()
    assert isinstance(conn.read_to_eof(deadline=NOW + 1).end, Reset)


def test_fake_read_until_and_exactly() -> None:
    conn = conn_to(Peer(splits=(1,)))
    conn.send_all(b"one\ntwo\nthree", deadline=NOW + 1)
    assert conn.read_until(b"\n", deadline=NOW + 1).data == b"one\n"
    assert conn.read_exactly(4, deadline=NOW + 1).data == b"two\n"
    over = conn.read_until(b"\n", deadline=NOW + 1, cap=2)
    assert (over.data, over.end) == (b"three", Overflow(cap=2))


@pytest.mark.parametrize(
    ("peer", "reset_after_peer_fin", "abort", "kind"),
    [(Peer(), True, False, "fin"), (Peer(fin_after=0), True, False, "rst"),
     (Peer(fin_after=0), False, False, "fin"), (Peer(), False, True, "rst")],
    ids=["open", "peer-closed", "accepted-conn", "abort"],
)
def test_fake_close_kind(peer: Peer, reset_after_peer_fin: bool, abort: bool, kind: str) -> None:
    conn = conn_to(peer, reset_after_peer_fin=reset_after_peer_fin)
    with conn:
        if abort:
            conn.abort()
    assert conn.closed and conn.close_kind == kind
    with pytest.raises(OSError):
        conn.read_some(deadline=NOW + 1)


def test_fake_uses_real_deadlines_by_default() -> None:
    import time

    conn = FakeConn(Peer(reply=silent))
    result = conn.read_exactly(1, deadline=time.monotonic() + 5)
    assert isinstance(result.end, Timeout) and 4.0 < result.end.after <= 5.0


# -- generic.expect_close: the close after a reply ---------------------------------------

def _replied(peer: Peer) -> FakeConn:
    """A connection on which a one-line request was answered (the reply already read)."""
    conn = conn_to(peer)
    conn.send_all(b"hello\n", deadline=NOW + REPLY)
    assert conn.read_exactly(6, deadline=NOW + REPLY).data == b"hello\n"
    return conn


@pytest.mark.parametrize(("peer", "reason", "hint", "actual"), [
    (Peer(fin_after=6), None, None, None),
    (Peer(reply=add_newline, fin_after=7), "sent 1 more bytes after its reply",
     "no extra newline or prompt", "b'\\n'"),
    (Peer(), "did not close the connection after its reply", "'with conn:' block",
     "the connection stayed open"),
    (Peer(rst_after=6), "reset the connection after its reply instead of closing it",
     "a crash or unread input sends RST", "RST"),
    (Peer(flood=b"z"), "more bytes after its reply", "no extra newline", None),
], ids=["fin", "extra-bytes", "stays-open", "reset", "endless"])
def test_expect_close(peer: Peer, reason: str | None, hint: str | None,
                      actual: str | None) -> None:
    conn = _replied(peer)
    if reason is None:
        expect_close(ctx_of(FakeCtx()), as_conn(conn))
        return
    exc = failure(lambda: expect_close(ctx_of(FakeCtx()), as_conn(conn)))
    assert reason in exc.reason and hint is not None and hint in exc.hint, (exc.reason, exc.hint)
    assert exc.evidence.expected == "EOF (FIN)"
    if actual is not None:
        assert actual in (exc.evidence.actual or ""), exc.evidence.actual


# -- datagram.judge_reply and the udp-echo hint ------------------------------------------

def _datagram(data: bytes, end: Event) -> DatagramResult:
    return DatagramResult(data=data, source=("127.0.0.1", 9) if data or isinstance(end, Done)
                          else None, end=end, elapsed=0.0)


@pytest.mark.parametrize(("got", "hint"), [
    (b"hello wo", "only the first 8 bytes came back"),
    (b"hello world\n", "it adds a newline"),
    (b"HELLO WORLD", "bytes were changed"),
    (b"hi", "send back exactly the datagram received, as one datagram"),
])
def test_datagram_hint(got: bytes, hint: str) -> None:
    assert hint in datagram_hint(b"hello world", b"hello world", got)
    assert "strips whitespace" in datagram_hint(b" pad ", b" pad ", b"pad")


@pytest.mark.parametrize(("result", "reason", "hint"), [
    ((b"", TIMEOUT), "no reply reached the sender within 2 s", "recvfrom"),
    ((b"", RESET), "nothing is bound at the server's address", "keep serving"),
    ((b"x" * 9, Overflow(cap=8)), "larger than 8 bytes", "one datagram per request"),
    ((b"pong", Done()), "differs from the expected datagram (4 bytes, expected 4)", "HINT"),
], ids=["silent", "unreachable", "too-big", "wrong"])
def test_datagram_judge_reply(result: tuple[bytes, Event], reason: str, hint: str) -> None:
    exc = failure(lambda: judge_reply(ctx_of(FakeCtx()), b"ping", b"PING", _datagram(*result),
                                      hint=lambda sent, expected, got: "HINT"))
    assert reason in exc.reason and hint in exc.hint, (exc.reason, exc.hint)


def test_datagram_judge_reply_passes_the_expected_datagram() -> None:
    judge_reply(ctx_of(FakeCtx()), b"ping", b"PING", _datagram(b"PING", Done()),
                hint=lambda sent, expected, got: "unused")
