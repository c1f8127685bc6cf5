"""The framing servers (docs/labs.md §9): references pass every probe, each known bug fails exactly
its probes for the stated reason, verdicts repeat exactly, and the framing adapters put valid
messages on the wire.

Gradings are independent, so each group runs concurrently in threads (the
whole file takes about two minutes on two cores instead of ten).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from helpers import (
    BUGS,
    REPEAT_CHUNKS,
    Gradings,
    assert_all_passed_alike,
    assert_known_bug,
    errors,
    failed,
    grade,
    grade_at_once,
    not_passed,
    verdict,
)

from grader.assignment import load
from grader.codecs import framing
from grader.errors import AssignmentError
from grader.probes import adapter as adapters
from grader.verdict import Outcome

LP, DELIM, FIXED, CLOSE = (f"framing-{name}-server"
                           for name in ("length-prefix", "delimiter", "fixed", "close"))
ASSIGNMENTS = (LP, DELIM, FIXED, CLOSE)
SECOND = "concurrency/second-client"  # informational; a one-client-at-a-time server fails it


def probes(assignment: str) -> set[str]:
    return {c.name for c in load(assignment).probes}


# (assignment, bug file) -> (the exact probes that do not pass, {probe: words its verdict must contain})
KNOWN_BUGS: dict[tuple[str, str], tuple[set[str], dict[str, str]]] = {
    (LP, "recv4_header"): (
        {"partial/one-byte-writes", "framing/split-header"},
        {"framing/split-header": "recv(4)", "partial/one-byte-writes": "recv(4)"},
    ),
    (LP, "allocates_claim"): (
        {"framing/huge-length-header"},
        {"framing/huge-length-header": "MemoryError"},
    ),
    (LP, "unbounded_length"): (
        {"framing/huge-length-header"},
        {"framing/huge-length-header": "resident memory"},
    ),
    (LP, "truncated_crash"): (
        {"framing/truncated-frame", SECOND},
        {"framing/truncated-frame": "exited with status 1"},
    ),
    (LP, "zero_length_closes"): (
        {"framing/zero-length"},
        {"framing/zero-length": "an empty message is a message"},
    ),
    (LP, "recv_payload_once"): (
        {"partial/one-byte-writes", "framing/one-mib-frame", "partial/large-payload",
         "partial/backpressure"},
        {"framing/one-mib-frame": "out of step"},
    ),
    (LP, "one_frame_per_recv"): (
        {"framing/coalesced-frames"},
        {"framing/coalesced-frames": "only the first message(s) came back"},
    ),
    (DELIM, "recv_is_line"): (
        {"partial/one-byte-writes", "framing/split-header", "framing/one-mib-frame",
         "echo/many-messages", "partial/large-payload", "partial/backpressure"},
        {"framing/split-header": "one recv() is not one line",
         "partial/one-byte-writes": "one recv() is not one line"},
    ),
    (DELIM, "first_line_only"): (
        {"framing/coalesced-frames", "partial/large-payload", "partial/backpressure"},
        {"framing/coalesced-frames": "only the first message(s) came back"},
    ),
    (DELIM, "empty_line_closes"): (
        {"framing/zero-length", "partial/large-payload", "partial/backpressure"},
        {"framing/zero-length": "an empty message is a message"},
    ),
    (DELIM, "truncated_crash"): (
        {"framing/truncated-frame", SECOND},
        {"framing/truncated-frame": "EOFError"},
    ),
    (FIXED, "recv16_assumed"): (
        {"partial/one-byte-writes", "framing/split-header"},
        {"framing/split-header": "recv(16)", "partial/one-byte-writes": "recv(16)"},
    ),
    (FIXED, "one_block_per_recv"): (
        {"framing/coalesced-frames", "echo/many-messages", "echo/binary", "shutdown/half-close"},
        {"framing/coalesced-frames": "only the first message(s) came back"},
    ),
    (FIXED, "truncated_crash"): (
        {"framing/truncated-frame", SECOND},
        {"framing/truncated-frame": "next client was not served"},
    ),
    (CLOSE, "replies_before_half_close"): (
        {"framing/reply-after-half-close"},
        {"framing/reply-after-half-close": "before the client's half-close"},
    ),
    (CLOSE, "one_recv_request"): (
        {"framing/reply-after-half-close", "resources/idle-cpu-client", "partial/one-byte-writes",
         "framing/one-mib-frame", "partial/large-payload", "partial/backpressure"},
        {"partial/one-byte-writes": "read until recv() returns b''"},
    ),
    (CLOSE, "empty_request_crash"): (
        {"framing/zero-length", SECOND},
        {"framing/zero-length": "IndexError"},
    ),
    (CLOSE, "never_closes"): (
        probes(CLOSE) - {"startup/listens"},
        {"echo/one-message": "never closed the connection"},
    ),
}

# (assignment, bug file) -> the exact probes skipped (a dependency failed); the rest failed
SKIPPED: dict[tuple[str, str], set[str]] = {
    (CLOSE, "never_closes"): probes(CLOSE) - {"startup/listens", "echo/one-message"},
}


@pytest.fixture(scope="module")
def bug_results() -> Gradings[tuple[str, str]]:
    """Every known-bug grading, made once per test session by whichever worker needs it first."""
    return Gradings({key: (key[0], BUGS / key[0] / f"{key[1]}.py") for key in KNOWN_BUGS})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_passes_every_probe(assignment: str) -> None:
    result = grade(assignment)
    assert not_passed(result) == set() and errors(result) == set()
    assert result.status == "passed" and result.score == result.max_score > 0


@pytest.mark.parametrize("key", sorted(KNOWN_BUGS), ids=lambda key: f"{key[0]}:{key[1]}")
def test_known_bug_fails_exactly_its_probes(
    key: tuple[str, str], bug_results: Gradings[tuple[str, str]]
) -> None:
    expected, reasons = KNOWN_BUGS[key]
    result = bug_results[key]
    assert_known_bug(result, expected, SKIPPED.get(key, set()), reasons)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_framing_probe_is_failed_by_some_known_bug(
        assignment: str, bug_results: Gradings[tuple[str, str]]) -> None:
    """From the gradings themselves, not from this file's expectations."""
    failed_somewhere = set().union(*(failed(result) for (a, _), result in bug_results.items()
                                     if a == assignment))
    framing_probes = {p for p in probes(assignment) if p.startswith("framing/")}
    assert framing_probes and framing_probes <= failed_somewhere
    assert "partial/one-byte-writes" in failed_somewhere


def test_huge_header_is_measured(bug_results: Gradings[tuple[str, str]]) -> None:
    """The unbounded bug's memory growth and open connection are both in the evidence."""
    v = verdict(bug_results[(LP, "unbounded_length")], "framing/huge-length-header")
    assert "timed out" in (v.evidence.transport or "")  # never closed the connection
    growth = [d for d in v.evidence.details if d.startswith("resident memory")]
    assert growth and "limit 64 MiB" in growth[0]
    good = verdict(grade(LP, select=("framing/huge-length-header",)), "framing/huge-length-header")
    assert good.outcome is Outcome.PASSED
    assert any("growth 0." in line or "growth 1." in line for line in good.transcript)
    assert any("peer closed the connection" in line for line in good.transcript)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", REPEAT_CHUNKS)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_verdicts_repeat_20_times_under_load(assignment: str, chunk: int) -> None:
    """20 gradings of the reference in all, AT_ONCE at a time (this item is one chunk of
    them): every verdict passed, so every run gave the same verdicts."""
    assert_all_passed_alike(grade_at_once(assignment))


def test_a_probe_of_another_framing_is_rejected_or_a_grader_error(tmp_path: Path) -> None:
    # named in a lab suite that does not run it: rejected when the file loads
    text = (Path(load(FIXED).source).read_text()
            + '[probes."framing/zero-length"]\nweight = 1\n')
    path = tmp_path / "fixed-with-zero-length.toml"
    path.write_text(text)
    with pytest.raises(AssignmentError, match="this lab's suite does not run it"):
        load(str(path))
    # a course grading with the whole family: the probe cannot apply, which is the grader's fault
    path.write_text(text.replace('suite = "framing-fixed-server"', 'suite = "stream-echo"'))
    result = grade(str(path), select=("framing/zero-length",))
    v = verdict(result, "framing/zero-length")
    assert v.outcome is Outcome.ERROR and v.excused and "remove the probe" in v.reason


# -- adapters: what they put on the wire decodes with the codecs -----------------------


@pytest.mark.parametrize("codec", [framing.LengthPrefix(max_length=100_000), framing.Delimiter(),
                                   framing.Delimiter(delimiter=b"\r\n"), framing.Fixed()])
def test_adapter_wire_decodes(codec: framing.LengthPrefix | framing.Delimiter | framing.Fixed) -> None:
    adapter = adapters.adapter_for_codec(codec)
    rng = random.Random(7)
    data = rng.randbytes(300_000)
    decoder = codec.decoder()
    decoder.feed(adapter.stream(data))
    messages = decoder.messages()
    decoder.end_of_stream()
    assert decoder.next_message() is None and messages
    if isinstance(codec, framing.LengthPrefix):
        assert b"".join(messages) == data
    for content in (b"", b"hello\n", bytes(range(256)), adapter.payload(rng, 5000)):
        one = codec.decoder()
        one.feed(adapter.frame(content))
        got = one.messages()
        assert got and one.pending == b""
        if not isinstance(codec, framing.Fixed):
            assert len(got) == 1
    fixed_one = adapter.one(b"x" * 40)
    assert len(fixed_one) == (16 if isinstance(codec, framing.Fixed) else 40)


def test_raw_adapter_changes_nothing() -> None:
    raw = adapters.Adapter()
    assert raw.name == "raw" and raw.streaming
    for data in (b"", b"a\nb", bytes(range(256))):
        assert raw.frame(data) == raw.stream(data) == raw.one(data) == data
    assert raw.explain(b"abc", b"abd", "keep") == "keep"
