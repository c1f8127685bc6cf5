"""The line codec and the chat strings: whole, one byte at a time, with trailing data,
truncated, over the limit, fuzzed (only ProtocolError may escape).

The model is h11's ``tests/test_io.py``: every message decodes the same
however its bytes are split, and bytes after a message stay for the next one.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from grader.codecs.base import ProtocolError, Truncated
from grader.codecs.chat import ChatLine, ChatStrings
from grader.codecs.lines import LineDecoder, encode_line

SEED = 20250501
LINES = ["hello", "", "Selamat datang di server chat!", "ünïcödé ✓ 😀", "tab\there", "cr\r"]
WIRE = b"".join(encode_line(text) for text in LINES)


def feed_all(decoder: LineDecoder, pieces: list[bytes]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        decoder.feed(piece)
        out.extend(decoder.messages())
    return out


def test_whole() -> None:
    decoder = LineDecoder()
    decoder.feed(WIRE)
    assert decoder.messages() == LINES
    assert decoder.pending == b""


def test_one_byte_at_a_time() -> None:
    assert feed_all(LineDecoder(), [WIRE[i : i + 1] for i in range(len(WIRE))]) == LINES


def test_random_splits() -> None:
    rng = random.Random(SEED)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(WIRE)), rng.randint(0, 12)))
        pieces = [WIRE[a:b] for a, b in zip([0, *cuts], [*cuts, len(WIRE)], strict=True)]
        assert feed_all(LineDecoder(), pieces) == LINES


def test_trailing_data_is_kept_for_the_next_line() -> None:
    decoder = LineDecoder()
    decoder.feed(b"one\ntw")
    assert decoder.next_message() == "one"
    assert decoder.next_message() is None
    assert decoder.pending == b"tw"
    decoder.feed(b"o\n")
    assert decoder.next_message() == "two"


def test_truncated_at_end_of_stream() -> None:
    decoder = LineDecoder()
    decoder.feed(b"whole\nhalf")
    decoder.end_of_stream()
    assert decoder.next_message() == "whole"
    with pytest.raises(Truncated):
        decoder.next_message()


def test_clean_end_of_stream() -> None:
    decoder = LineDecoder()
    decoder.feed(b"whole\n")
    decoder.end_of_stream()
    assert decoder.messages() == ["whole"]
    with pytest.raises(ProtocolError):
        decoder.feed(b"more")


def test_max_line_is_enforced_with_and_without_newline() -> None:
    decoder = LineDecoder(max_line=8)
    decoder.feed(b"12345678\n")
    assert decoder.messages() == ["12345678"]
    decoder.feed(b"123456789\nnext\n")
    with pytest.raises(ProtocolError, match="over the 8-byte limit"):
        decoder.next_message()
    assert decoder.next_message() == "next"  # the long line was consumed
    endless = LineDecoder(max_line=8)
    endless.feed(b"123456789")
    with pytest.raises(ProtocolError, match="no newline"):
        endless.next_message()


def test_multibyte_newline_split_across_feeds() -> None:
    decoder = LineDecoder(max_line=4, newline=b"\r\n")
    decoder.feed(b"abcd\r")
    assert decoder.next_message() is None  # the \r may start the newline
    decoder.feed(b"\nef\r\n")
    assert decoder.messages() == ["abcd", "ef"]


def test_invalid_utf8_raises_and_decoding_goes_on() -> None:
    decoder = LineDecoder()
    decoder.feed(b"\xff\xfe bad\nfine\n")
    with pytest.raises(ProtocolError, match="not UTF-8"):
        decoder.next_message()
    assert decoder.messages() == ["fine"]


def test_utf8_character_split_across_feeds() -> None:
    data = encode_line("é😀")
    assert feed_all(LineDecoder(), [data[:1], data[1:3], data[3:]]) == ["é😀"]


def test_encode_refuses_a_newline_inside() -> None:
    with pytest.raises(ValueError):
        encode_line("two\nlines")
    assert encode_line("x", newline=b"\r\n") == b"x\r\n"


def test_fuzz_only_protocol_errors_escape() -> None:
    rng = random.Random(SEED)
    alphabet = b"ab\n\r\xff\xc3\xa9 "
    for _ in range(2000):
        decoder = LineDecoder(max_line=rng.randint(0, 20))
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        at = 0
        while at < len(data):
            step = rng.randint(1, 7)
            try:
                decoder.feed(data[at : at + step])
                decoder.messages()
            except ProtocolError:
                pass
            at += step
        decoder.end_of_stream()
        with contextlib.suppress(ProtocolError):
            decoder.messages()


# -- chat strings ------------------------------------------------------------


def test_handout_strings_format_and_parse() -> None:
    strings = ChatStrings()
    assert strings.joined("ana_1") == "ana_1 telah bergabung ke chat"
    assert strings.left("ana_1") == "ana_1 telah meninggalkan chat"
    assert strings.said("ana_1", "halo: apa") == "ana_1: halo: apa"
    assert strings.parse("Selamat datang di server chat!").kind == "welcome"
    assert strings.parse("ana_1 telah bergabung ke chat") == ChatLine(
        kind="join", name="ana_1", text=None, raw="ana_1 telah bergabung ke chat")
    assert strings.parse("ana_1 telah meninggalkan chat").kind == "leave"
    said = strings.parse("ana_1: halo: apa")
    assert (said.kind, said.name, said.text) == ("message", "ana_1", "halo: apa")
    assert strings.parse("no prefix here").kind == "other"


def test_known_names_settle_an_ambiguous_line() -> None:
    strings = ChatStrings()
    line = "ana_1: budi_2 telah bergabung ke chat"
    assert strings.parse(line, known={"ana_1"}).kind == "message"


def test_strings_from_a_protocol_table() -> None:
    strings = ChatStrings.from_protocol({"prompt": "Name? ", "join": "* {name} joined",
                                         "message": "<{name}> {line}"})
    assert strings.prompt == "Name? "
    assert strings.welcome == ChatStrings().welcome
    assert strings.parse("<bob> hi").text == "hi"
    assert strings.parse("* bob joined").name == "bob"


@pytest.mark.parametrize("table", [
    {"join": "someone joined"},              # no {name}
    {"message": "{name} says"},              # no {line}
    {"leave": "{name} left {line}"},         # an extra placeholder
    {"welcome": "two\nlines"},               # a newline
    {"prompt": ""},                          # empty prompt
    {"join": "{name"},                       # malformed
    {"prompt": 42},                          # not a string
])
def test_bad_protocol_tables_are_refused(table: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ChatStrings.from_protocol(table)
