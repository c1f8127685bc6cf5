"""The framing codecs (docs/labs.md §9): whole, one byte at a time, with trailing data, truncated, fuzzed.

The model is h11's ``tests/test_io.py``: every message decodes the same
however its bytes are split, bytes after a message stay for the next one, a
stream cut inside a message is Truncated, and random input may only ever
raise ProtocolError.
"""

from __future__ import annotations

import random

import pytest

from grader.codecs import framing
from grader.codecs.base import Decoder, ProtocolError, Truncated

SEED = 20240917

FRAMINGS: dict[str, framing.Framing] = {
    "length-prefix": framing.LengthPrefix(),
    "delimiter": framing.Delimiter(),
    "fixed": framing.Fixed(),
    "close": framing.Close(),
}
# payloads every streaming framing can carry (fixed: exactly 16 bytes each)
PAYLOADS: dict[str, list[bytes]] = {
    "length-prefix": [b"hello", b"", bytes(range(256)), b"\n\n", b"x" * 70000],
    "delimiter": [b"hello", b"", bytes(range(256)).replace(b"\n", b""), b"\r", b"y" * 70000],
    "fixed": [b"0123456789abcdef", b"\n" * 16, bytes(range(16)), b"\xff" * 16],
}


def feed_split(decoder: Decoder[bytes], data: bytes, sizes: list[int] | None = None) -> list[bytes]:
    """Feed ``data`` in pieces of ``sizes`` (default: one byte at a time); collect messages."""
    out: list[bytes] = []
    at = 0
    for size in sizes if sizes is not None else [1] * len(data):
        decoder.feed(data[at : at + size])
        at += size
        out.extend(decoder.messages())
    decoder.feed(data[at:])
    out.extend(decoder.messages())
    return out


def wire(name: str, payloads: list[bytes]) -> bytes:
    return b"".join(FRAMINGS[name].encode(p) for p in payloads)


# -- streaming framings: whole, bytewise, trailing, truncated -------------------


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_whole(name: str) -> None:
    decoder = FRAMINGS[name].decoder()
    decoder.feed(wire(name, PAYLOADS[name]))
    assert decoder.messages() == PAYLOADS[name]
    decoder.end_of_stream()
    assert decoder.next_message() is None


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_one_byte_at_a_time(name: str) -> None:
    payloads = [p[:300] for p in PAYLOADS[name]]  # keep the bytewise run short
    assert feed_split(FRAMINGS[name].decoder(), wire(name, payloads)) == payloads


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_random_splits(name: str) -> None:
    rng = random.Random(SEED)
    data = wire(name, PAYLOADS[name])
    for _ in range(20):
        sizes = [rng.randint(0, 9000) for _ in range(40)]
        assert feed_split(FRAMINGS[name].decoder(), data, sizes) == PAYLOADS[name]


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_trailing_data_stays_pending(name: str) -> None:
    first, second = PAYLOADS[name][0], PAYLOADS[name][-1]
    encoded = FRAMINGS[name].encode(second)
    decoder = FRAMINGS[name].decoder()
    decoder.feed(FRAMINGS[name].encode(first) + encoded[:3])
    assert decoder.next_message() == first
    assert decoder.next_message() is None
    assert decoder.pending == encoded[:3]
    decoder.feed(encoded[3:])
    assert decoder.messages() == [second]
    assert decoder.pending == b""


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_truncated_at_end_of_stream(name: str) -> None:
    encoded = FRAMINGS[name].encode(PAYLOADS[name][0])
    decoder = FRAMINGS[name].decoder()
    decoder.feed(encoded + encoded[:-1])
    assert decoder.next_message() == PAYLOADS[name][0]
    decoder.end_of_stream()
    with pytest.raises(Truncated):
        decoder.next_message()


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_clean_end_of_stream_and_data_after_it(name: str) -> None:
    decoder = FRAMINGS[name].decoder()
    decoder.feed(wire(name, PAYLOADS[name][:1]))
    decoder.end_of_stream()
    assert decoder.messages() == PAYLOADS[name][:1]
    with pytest.raises(ProtocolError):
        decoder.feed(b"x")


# -- per-framing rules ---------------------------------------------------------


def test_length_prefix_header_is_big_endian_unsigned() -> None:
    codec = framing.LengthPrefix()
    assert codec.encode(b"abc") == b"\x00\x00\x00\x03abc"
    assert codec.encode(b"") == b"\x00\x00\x00\x00"
    assert codec.header(2**32 - 1) == b"\xff\xff\xff\xff"
    with pytest.raises(ValueError):
        codec.header(2**32)
    assert framing.LengthPrefix(header_bytes=2).encode(b"ab") == b"\x00\x02ab"


def test_length_prefix_rejects_a_huge_header_before_any_payload() -> None:
    decoder = framing.LengthPrefix(max_length=1024).decoder()
    decoder.feed(b"\xff\xff")
    assert decoder.next_message() is None and decoder.claimed() is None
    decoder.feed(b"\xff\xff")  # claims 4 GiB - 1: rejected on the header alone
    assert decoder.claimed() == 2**32 - 1
    with pytest.raises(ProtocolError, match="4294967295"):
        decoder.next_message()
    exact = framing.LengthPrefix(max_length=3).decoder()
    exact.feed(b"\x00\x00\x00\x03abc")
    assert exact.messages() == [b"abc"]


def test_delimiter_rules() -> None:
    codec = framing.Delimiter()
    with pytest.raises(ValueError):
        codec.encode(b"two\nlines")
    crlf = framing.Delimiter(delimiter=b"\r\n")
    data = b"a\rb\r\n\r\nc\r"
    assert feed_split(crlf.decoder(), data) == [b"a\rb", b""]
    too_long = framing.Delimiter(max_length=4).decoder()
    too_long.feed(b"abcd")
    assert too_long.next_message() is None
    too_long.feed(b"e")
    with pytest.raises(ProtocolError):
        too_long.next_message()
    ok = framing.Delimiter(max_length=4).decoder()
    ok.feed(b"abcd\n")
    assert ok.messages() == [b"abcd"]


def test_fixed_rules() -> None:
    codec = framing.Fixed()
    with pytest.raises(ValueError):
        codec.encode(b"short")
    assert framing.Fixed(size=2).encode(b"ab") == b"ab"


def test_close_is_the_whole_stream_once() -> None:
    for data in (b"", b"one message\nwith lines\x00", bytes(range(256)) * 10):
        for sizes in (None, [len(data)]):
            decoder = framing.Close().decoder()
            assert feed_split(decoder, data, sizes) == []  # nothing before the half-close
            decoder.end_of_stream()
            assert decoder.messages() == [data]
            assert decoder.next_message() is None
    capped = framing.Close(max_length=3).decoder()
    capped.feed(b"abcd")
    with pytest.raises(ProtocolError):
        capped.next_message()


def test_from_protocol() -> None:
    assert framing.from_protocol({"framing": "length-prefix", "max_length": 10}) == \
        framing.LengthPrefix(max_length=10)
    assert framing.from_protocol({"framing": "delimiter", "delimiter": "\r\n"}) == \
        framing.Delimiter(delimiter=b"\r\n")
    assert framing.from_protocol({"framing": "fixed", "size": 8}) == framing.Fixed(size=8)
    assert framing.from_protocol({"framing": "close"}) == framing.Close()
    with pytest.raises(ValueError, match="framing"):
        framing.from_protocol({"framing": "raw"})


# -- fuzz: only ProtocolError escapes ------------------------------------------------


@pytest.mark.parametrize("name", ["length-prefix", "delimiter", "fixed", "close"])
def test_fuzz_only_protocol_error_escapes(name: str) -> None:
    rng = random.Random(f"{SEED}:{name}")
    small: framing.Framing = {
        "length-prefix": framing.LengthPrefix(max_length=300),
        "delimiter": framing.Delimiter(max_length=300),
        "fixed": framing.Fixed(size=7),
        "close": framing.Close(max_length=1500),
    }[name]
    outcomes = set()
    for _ in range(600):
        payloads = [rng.randbytes(rng.randint(0, 320)) for _ in range(rng.randint(0, 6))]
        if name == "delimiter":
            payloads = [p.replace(b"\n", b"") for p in payloads]
        elif name == "fixed":
            payloads = [p.ljust(7)[:7] for p in payloads]
        data = bytearray(b"".join(small.encode(p) for p in payloads if len(p) <= 320))
        for _ in range(rng.choice((0, 0, 1, 3))):  # corrupt some streams
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randint(0, len(data))]
        if rng.random() < 0.1:
            data = bytearray(rng.randbytes(rng.randint(0, 2000)))
        decoder = small.decoder()
        try:
            feed_split(decoder, bytes(data), [rng.randint(0, 64) for _ in range(rng.randint(0, 60))])
            decoder.end_of_stream()
            decoder.messages()
            outcomes.add("ok")
        except Truncated:
            outcomes.add("truncated")
        except ProtocolError:
            outcomes.add("protocol-error")
    expected = {"close": {"ok", "protocol-error"}, "fixed": {"ok", "truncated"}}.get(
        name, {"ok", "truncated", "protocol-error"})
    assert outcomes == expected
