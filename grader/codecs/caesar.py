"""The Caesar-cipher service protocol (docs/labs.md §8), sans-IO, and the cipher itself.

Theory of operation: a request is ``OP SHIFT TEXT TERMINATOR`` with no
spaces, e.g. ``b"e03hello."``: ``OP`` is one byte (``e`` encrypt, shift
right; ``d`` decrypt, shift left), ``SHIFT`` is two decimal digits taken
modulo 26, ``TEXT`` is any bytes but the terminator, and the terminator
(``.``) ends the request.  The reply is the result followed by the
terminator; a malformed request gets the error reply (``ERR.``).  Only the
bytes ``a``-``z`` are shifted; every other byte, upper case and non-ASCII
included, passes unchanged.

:class:`RequestDecoder` is what a server reads with: it waits for the
terminator, then validates the whole request and raises
:class:`~grader.codecs.base.ProtocolError` for a malformed one (the
offending request is consumed, so decoding can go on).  :class:`ReplyDecoder`
is what a client reads with: everything up to the terminator.  Every string
is a constructor parameter so an assignment's ``[protocol]`` table can
change it.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.codecs.base import Decoder, ProtocolError

#: Default request/reply terminator.
TERMINATOR = b"."
#: Default operation bytes.
ENCRYPT = b"e"
DECRYPT = b"d"
#: Default number of decimal digits in SHIFT.
SHIFT_DIGITS = 2
#: Default cap on a request's length in bytes before the terminator arrives.
MAX_REQUEST = 16 * 1024 * 1024

_LOWER_A = ord("a")


def shift_lower(text: bytes, shift: int) -> bytes:
    """``text`` with every byte ``a``-``z`` moved ``shift`` places right (mod 26).

    ``shift`` may be any integer (negative moves left); other bytes are kept.
    """
    amount = shift % 26
    table = bytes(
        (_LOWER_A + (b - _LOWER_A + amount) % 26) if _LOWER_A <= b < _LOWER_A + 26 else b
        for b in range(256)
    )
    return text.translate(table)


def apply(op: str, shift: int, text: bytes) -> bytes:
    """The service's result for one request: ``op`` is ``"e"`` or ``"d"``.

    Raises ValueError for another ``op``.  Source: docs/labs.md §8.
    """
    if op == "e":
        return shift_lower(text, shift)
    if op == "d":
        return shift_lower(text, -shift)
    raise ValueError(f"unknown operation {op!r}")


@dataclass(frozen=True, kw_only=True)
class Request:
    """One decoded request: ``op`` is ``"e"`` or ``"d"``, ``shift`` the raw 0-99 value."""

    op: str
    shift: int
    text: bytes

    def result(self) -> bytes:
        """The cipher result (without the terminator)."""
        return apply(self.op, self.shift, self.text)


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """The strings of one course's Caesar protocol (defaults: docs/labs.md §8)."""

    terminator: bytes = TERMINATOR
    encrypt: bytes = ENCRYPT
    decrypt: bytes = DECRYPT
    digits: int = SHIFT_DIGITS
    error: bytes = b"ERR."

    def __post_init__(self) -> None:
        if not self.terminator or not self.encrypt or self.digits < 1:
            raise ValueError("terminator and operation codes must be non-empty, digits >= 1")
        if len(self.encrypt) != len(self.decrypt) or self.encrypt == self.decrypt:
            raise ValueError("operation codes must differ and have the same length")

    def request(self, op: str, shift: int, text: bytes) -> bytes:
        """Encode a request; ``op`` is ``"e"``/``"d"``, ``shift`` 0 to 10**digits - 1.

        Raises ValueError for an unknown op, an out-of-range shift, or a
        ``text`` containing the terminator.
        """
        if self.terminator in text:
            raise ValueError("text must not contain the terminator")
        if not 0 <= shift < 10**self.digits:
            raise ValueError(f"shift {shift} does not fit {self.digits} digits")
        code = {"e": self.encrypt, "d": self.decrypt}.get(op)
        if code is None:
            raise ValueError(f"unknown operation {op!r}")
        return code + str(shift).zfill(self.digits).encode() + text + self.terminator

    def reply(self, result: bytes) -> bytes:
        """Encode a successful reply."""
        return result + self.terminator


class RequestDecoder(Decoder[Request]):
    """Server side: yields :class:`Request` objects; a malformed one raises ProtocolError.

    A malformed request is consumed up to and including its terminator before
    the error is raised.  More than ``max_request`` bytes without a
    terminator raises ProtocolError.
    """

    def __init__(self, protocol: Protocol | None = None, *, max_request: int = MAX_REQUEST) -> None:
        super().__init__()
        self.protocol = protocol or Protocol()
        self.max_request = max_request

    def _parse(self, buffer: bytearray) -> tuple[Request, int] | None:
        proto = self.protocol
        end = buffer.find(proto.terminator)
        if end < 0:
            if len(buffer) > self.max_request:
                raise ProtocolError(f"no terminator within {self.max_request} bytes")
            return None
        raw = bytes(buffer[:end])
        del buffer[: end + len(proto.terminator)]  # consumed even when malformed
        return _validate(raw, proto), 0


def _validate(raw: bytes, proto: Protocol) -> Request:
    width = len(proto.encrypt)
    code, digits, text = raw[:width], raw[width : width + proto.digits], raw[width + proto.digits :]
    ops = {proto.encrypt: "e", proto.decrypt: "d"}
    if code not in ops:
        raise ProtocolError(f"unknown operation {code!r}")
    if len(digits) != proto.digits or not all(0x30 <= b <= 0x39 for b in digits):
        raise ProtocolError(f"shift must be {proto.digits} decimal digits, got {digits!r}")
    return Request(op=ops[code], shift=int(digits), text=text)


class ReplyDecoder(Decoder[bytes]):
    """Client side: yields each reply's bytes before the terminator (``b"ERR"`` for an error).

    More than ``max_reply`` bytes without a terminator raises ProtocolError.
    """

    def __init__(self, protocol: Protocol | None = None, *, max_reply: int = MAX_REQUEST) -> None:
        super().__init__()
        self.protocol = protocol or Protocol()
        self.max_reply = max_reply

    def _parse(self, buffer: bytearray) -> tuple[bytes, int] | None:
        term = self.protocol.terminator
        end = buffer.find(term)
        if end < 0:
            if len(buffer) > self.max_reply:
                raise ProtocolError(f"no terminator within {self.max_reply} bytes")
            return None
        return bytes(buffer[:end]), end + len(term)
