"""The Caesar and upload codecs: whole, one byte at a time, with trailing data, truncated, fuzzed.

The model is h11's ``tests/test_io.py``: every message must decode the same
however its bytes are split, bytes after a message stay for the next one,
and random input may only ever raise ProtocolError.
"""

from __future__ import annotations

import random

import pytest

from grader.codecs import caesar, upload
from grader.codecs.base import Decoder, ProtocolError, Truncated

SEED = 20240611


def feed_split(decoder: Decoder, data: bytes, sizes: list[int] | None = None) -> list:
    """Feed ``data`` in pieces of ``sizes`` (default: one byte at a time); collect messages."""
    out = []
    at = 0
    for size in sizes or [1] * len(data):
        decoder.feed(data[at : at + size])
        at += size
        out.extend(decoder.messages())
    decoder.feed(data[at:])
    out.extend(decoder.messages())
    return out


# -- Caesar ---------------------------------------------------------------


def test_cipher_examples() -> None:
    assert caesar.apply("e", 3, b"hello") == b"khoor"
    assert caesar.apply("d", 3, b"khoor") == b"hello"
    assert caesar.apply("e", 26, b"abcxyz") == b"abcxyz"
    assert caesar.apply("e", 99, b"abc") == caesar.apply("e", 99 % 26, b"abc") == b"vwx"
    assert caesar.apply("e", 5, b"Hello, World! 123 \xc3\xa9") == b"Hjqqt, Wtwqi! 123 \xc3\xa9"
    with pytest.raises(ValueError):
        caesar.apply("x", 1, b"a")


@pytest.mark.parametrize("shift", range(100))
def test_cipher_round_trip(shift: int) -> None:
    text = bytes(range(256)).replace(b".", b"")
    assert caesar.apply("d", shift, caesar.apply("e", shift, text)) == text


def test_request_whole_and_bytewise() -> None:
    proto = caesar.Protocol()
    wire = proto.request("e", 3, b"hello") + proto.request("d", 99, b"A b\nc")
    expected = [caesar.Request(op="e", shift=3, text=b"hello"),
                caesar.Request(op="d", shift=99, text=b"A b\nc")]
    whole = caesar.RequestDecoder()
    whole.feed(wire)
    assert whole.messages() == expected
    assert feed_split(caesar.RequestDecoder(), wire) == expected
    assert expected[0].result() == b"khoor"


def test_request_trailing_data_kept() -> None:
    decoder = caesar.RequestDecoder()
    decoder.feed(b"e01abc.d0")
    assert decoder.next_message() == caesar.Request(op="e", shift=1, text=b"abc")
    assert decoder.next_message() is None
    assert decoder.pending == b"d0"
    decoder.end_of_stream()
    with pytest.raises(Truncated):
        decoder.next_message()


def test_empty_text_is_a_request() -> None:
    decoder = caesar.RequestDecoder()
    decoder.feed(b"e00.")
    assert decoder.messages() == [caesar.Request(op="e", shift=0, text=b"")]


@pytest.mark.parametrize("bad", [b"x03abc.", b"e3abc.", b"eabc.", b".", b"e.", b"e0.", b"E03abc.",
                                  b"e-1abc.", b"e 3abc."])
def test_malformed_request_consumed(bad: bytes) -> None:
    decoder = caesar.RequestDecoder()
    decoder.feed(bad + b"d01b.")
    with pytest.raises(ProtocolError):
        decoder.next_message()
    assert decoder.next_message() == caesar.Request(op="d", shift=1, text=b"b")


def test_request_custom_protocol_and_cap() -> None:
    proto = caesar.Protocol(terminator=b"!", encrypt=b"E", decrypt=b"D", digits=3, error=b"NO!")
    decoder = caesar.RequestDecoder(proto, max_request=10)
    decoder.feed(proto.request("e", 123, b"a.b"))
    assert decoder.messages() == [caesar.Request(op="e", shift=123, text=b"a.b")]
    decoder.feed(b"E" * 11)
    with pytest.raises(ProtocolError):
        decoder.next_message()
    with pytest.raises(ValueError):
        proto.request("e", 1, b"no!")
    with pytest.raises(ValueError):
        caesar.Protocol(terminator=b"")


def test_reply_decoder() -> None:
    proto = caesar.Protocol()
    wire = proto.reply(b"khoor") + proto.error + proto.reply(b"")
    assert feed_split(caesar.ReplyDecoder(), wire) == [b"khoor", b"ERR", b""]
    decoder = caesar.ReplyDecoder(max_reply=4)
    decoder.feed(b"abcde")
    with pytest.raises(ProtocolError):
        decoder.next_message()


# -- upload -----------------------------------------------------------------


def test_upload_whole_bytewise_and_trailing() -> None:
    proto = upload.Protocol()
    first = upload.Upload(name="notes.txt", content=b"hello\n")
    second = upload.Upload(name="caf\u00e9 \u65e5\u672c.bin", content=bytes(range(256)) * 3)
    empty = upload.Upload(name="empty", content=b"")
    wire = b"".join(proto.upload(u.name, u.content) for u in (first, second, empty))
    whole = upload.UploadDecoder()
    whole.feed(wire)
    assert whole.messages() == [first, second, empty]
    assert feed_split(upload.UploadDecoder(), wire) == [first, second, empty]
    rng = random.Random(SEED)
    sizes = [rng.randint(1, 50) for _ in range(len(wire))]
    assert feed_split(upload.UploadDecoder(), wire, sizes) == [first, second, empty]


def test_upload_header_before_content() -> None:
    proto = upload.Protocol()
    decoder = upload.UploadDecoder()
    decoder.feed(proto.header("a.txt", 10) + b"12345")
    assert decoder.header() == upload.Header(name="a.txt", size=10)
    assert decoder.next_message() is None
    decoder.feed(b"67890trail")
    assert decoder.next_message() == upload.Upload(name="a.txt", content=b"1234567890")
    assert decoder.pending == b"trail"


def test_upload_truncated() -> None:
    proto = upload.Protocol()
    wire = proto.upload("x", b"0123456789")
    for cut in range(1, len(wire)):
        decoder = upload.UploadDecoder()
        decoder.feed(wire[:cut])
        decoder.end_of_stream()
        with pytest.raises(Truncated):
            decoder.next_message()


def test_upload_caps_and_bad_names() -> None:
    decoder = upload.UploadDecoder(max_name=8)
    decoder.feed((9).to_bytes(4, "big"))
    with pytest.raises(ProtocolError):
        decoder.next_message()
    huge = upload.UploadDecoder(max_size=100)
    huge.feed(upload.Protocol().header("x", 2**40))
    with pytest.raises(ProtocolError):
        huge.next_message()
    bad = upload.UploadDecoder()
    bad.feed(upload.Protocol().header(b"\xff\xfe", 0))
    with pytest.raises(ProtocolError):
        bad.next_message()


def test_upload_custom_widths() -> None:
    proto = upload.Protocol(name_length_bytes=2, size_bytes=4, ok=b"YES\r\n", error=b"NO",
                            eol=b"\r\n")
    wire = proto.upload("f", b"abc")
    assert wire == b"\x00\x01f\x00\x00\x00\x03abc"
    assert feed_split(upload.UploadDecoder(proto), wire) == [upload.Upload(name="f", content=b"abc")]
    replies = feed_split(upload.ReplyDecoder(proto), b"YES\r\n" + proto.error_line("bad\nname"))
    assert [r.ok for r in replies] == [True, False]
    assert replies[1].reason == "bad name"
    with pytest.raises(ValueError):
        upload.Protocol(ok=b"OK")


def test_upload_reply_decoder() -> None:
    proto = upload.Protocol()
    wire = b"OK\n" + proto.error_line("name leaves the folder") + b"ERR\n"
    replies = feed_split(upload.ReplyDecoder(), wire)
    assert [(r.ok, r.reason) for r in replies] == [
        (True, ""), (False, "name leaves the folder"), (False, "")]
    for bad in (b"ok\n", b"ERRX\n", b"OK \n"):
        decoder = upload.ReplyDecoder()
        decoder.feed(bad)
        with pytest.raises(ProtocolError):
            decoder.next_message()
    long_line = upload.ReplyDecoder(max_reply=8)
    long_line.feed(b"ERR " + b"x" * 10)
    with pytest.raises(ProtocolError):
        long_line.next_message()


# -- fuzz -------------------------------------------------------------------


def _fuzz(make: type[Decoder] | object, rounds: int, rng: random.Random,
          alphabet: bytes | None = None) -> None:
    for _ in range(rounds):
        decoder = make()  # type: ignore[operator]
        length = rng.randint(0, 64)
        if alphabet is None:
            data = rng.randbytes(length)
        else:
            data = bytes(rng.choice(alphabet) for _ in range(length))
        try:
            feed_split(decoder, data, [rng.randint(1, 8) for _ in range(length)])
            decoder.end_of_stream()
            decoder.messages()
        except ProtocolError:
            pass


def test_fuzz_only_protocol_errors_escape() -> None:
    rng = random.Random(SEED)
    _fuzz(caesar.RequestDecoder, 3000, rng)
    _fuzz(caesar.RequestDecoder, 3000, rng, alphabet=b"ed0123456789.abcXYZ")
    _fuzz(caesar.ReplyDecoder, 2000, rng)
    _fuzz(lambda: upload.UploadDecoder(max_size=1000), 3000, rng)
    _fuzz(lambda: upload.UploadDecoder(max_size=1000), 3000, rng, alphabet=b"\x00\x01\x02ab\xff")
    _fuzz(upload.ReplyDecoder, 2000, rng, alphabet=b"OKER \nx")
