"""The four message framings of the framing labs (docs/labs.md §9), sans-IO.

Theory of operation: a TCP connection carries a byte stream, not messages;
a *framing* says where one message ends.  Each framing here is a small
frozen object with the same two faces (the pattern every lab codec follows):

* ``encode(payload) -> bytes`` puts one message on the wire, raising
  ValueError for a payload the framing cannot carry;
* ``decoder()`` returns a fresh :class:`~grader.codecs.base.Decoder` that is
  fed received bytes in any split and yields each payload (``bytes``) once it
  is whole.

=================  ==========================================================
framing            on the wire
=================  ==========================================================
``LengthPrefix``   a ``header_bytes``-byte big-endian unsigned length, then
                   that many bytes (default 4-byte header)
``Delimiter``      the payload, then the ``delimiter`` (default ``b"\\n"``);
                   the payload must not contain a delimiter byte
``Fixed``          exactly ``size`` bytes (default 16) per message
``Close``          everything up to the end of the stream (the sender's
                   half-close), HTTP/1.0 style: one message per connection
=================  ==========================================================

Every decoder takes a ``max_length`` (bytes) and raises
:class:`~grader.codecs.base.ProtocolError` as soon as a message is known to
be longer: a length header is judged before any payload byte is buffered,
so a header that claims 4 GiB costs nothing.  A stream that ends inside a
message raises :class:`~grader.codecs.base.Truncated` (the base class's
rule).  :func:`from_protocol` builds a framing from an assignment's
``[protocol]`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from grader.codecs.base import Decoder, ProtocolError

#: Default cap on one message's payload, in bytes (16 MiB).
MAX_LENGTH = 16 * 1024 * 1024
#: Default width of a length-prefix header, in bytes.
HEADER_BYTES = 4
#: Default message terminator of the delimiter framing.
DELIMITER = b"\n"
#: Default message size of the fixed-length framing, in bytes.
FIXED_SIZE = 16


class Framing(Protocol):
    """What every framing offers: an encoder and a decoder factory."""

    @property
    def name(self) -> str:
        """The ``[protocol] framing`` name, e.g. ``"length-prefix"``."""
        ...

    @property
    def max_length(self) -> int:
        """Cap on one payload in bytes; decoders raise ProtocolError beyond it."""
        ...

    def encode(self, payload: bytes) -> bytes:
        """``payload`` as one message on the wire; ValueError if it cannot be framed."""
        ...

    def decoder(self) -> Decoder[bytes]:
        """A fresh decoder yielding payloads."""
        ...


# -- length prefix ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LengthPrefix:
    """``header_bytes``-byte big-endian unsigned length, then the payload."""

    name: ClassVar[str] = "length-prefix"
    header_bytes: int = HEADER_BYTES
    max_length: int = MAX_LENGTH

    def __post_init__(self) -> None:
        if self.header_bytes < 1 or self.max_length < 0:
            raise ValueError("header_bytes must be >= 1 and max_length >= 0")

    def header(self, length: int) -> bytes:
        """The header alone, for any ``length`` that fits (even over ``max_length``).

        Raises ValueError when ``length`` does not fit ``header_bytes`` bytes.
        """
        if not 0 <= length < 256**self.header_bytes:
            raise ValueError(f"length {length} does not fit a {self.header_bytes}-byte header")
        return length.to_bytes(self.header_bytes, "big")

    def encode(self, payload: bytes) -> bytes:
        """Header then payload; ValueError if the length does not fit the header."""
        return self.header(len(payload)) + payload

    def decoder(self) -> LengthPrefixDecoder:
        """A fresh :class:`LengthPrefixDecoder`."""
        return LengthPrefixDecoder(self)


class LengthPrefixDecoder(Decoder[bytes]):
    """Yields payloads; ProtocolError once a header claims more than ``max_length``."""

    def __init__(self, framing: LengthPrefix | None = None) -> None:
        super().__init__()
        self.framing = framing or LengthPrefix()

    def claimed(self) -> int | None:
        """The length the pending header claims, once all of it has arrived, else None."""
        width = self.framing.header_bytes
        if len(self._buffer) < width:
            return None
        return int.from_bytes(self._buffer[:width], "big")

    def _parse(self, buffer: bytearray) -> tuple[bytes, int] | None:
        width = self.framing.header_bytes
        if len(buffer) < width:
            return None
        length = int.from_bytes(buffer[:width], "big")
        if length > self.framing.max_length:
            raise ProtocolError(
                f"header claims {length} bytes, over the {self.framing.max_length}-byte limit")
        end = width + length
        if len(buffer) < end:
            return None
        return bytes(buffer[width:end]), end


# -- delimiter ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Delimiter:
    """The payload then ``delimiter``; payloads must not contain any delimiter byte."""

    name: ClassVar[str] = "delimiter"
    delimiter: bytes = DELIMITER
    max_length: int = MAX_LENGTH

    def __post_init__(self) -> None:
        if not self.delimiter or self.max_length < 0:
            raise ValueError("the delimiter must be non-empty and max_length >= 0")

    def encode(self, payload: bytes) -> bytes:
        """Payload then delimiter; ValueError if the payload holds a delimiter byte."""
        if any(bytes((byte,)) in payload for byte in self.delimiter):  # memchr, not a byte loop
            raise ValueError(f"payload contains a byte of the delimiter {self.delimiter!r}")
        return payload + self.delimiter

    def decoder(self) -> DelimiterDecoder:
        """A fresh :class:`DelimiterDecoder`."""
        return DelimiterDecoder(self)


class DelimiterDecoder(Decoder[bytes]):
    """Yields each payload without its delimiter; ProtocolError for a line over ``max_length``."""

    def __init__(self, framing: Delimiter | None = None) -> None:
        super().__init__()
        self.framing = framing or Delimiter()
        self._searched = 0  # bytes already known to hold no delimiter start

    def _parse(self, buffer: bytearray) -> tuple[bytes, int] | None:
        delim = self.framing.delimiter
        at = buffer.find(delim, max(0, self._searched - len(delim) + 1))
        if at < 0:
            self._searched = len(buffer)
            if len(buffer) > self.framing.max_length + len(delim) - 1:
                raise ProtocolError(f"no delimiter within {self.framing.max_length} bytes")
            return None
        self._searched = 0
        if at > self.framing.max_length:
            raise ProtocolError(f"a {at}-byte line is over the {self.framing.max_length}-byte limit")
        return bytes(buffer[:at]), at + len(delim)


# -- fixed length -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Fixed:
    """Every message is exactly ``size`` bytes."""

    name: ClassVar[str] = "fixed"
    size: int = FIXED_SIZE

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("size must be >= 1")

    @property
    def max_length(self) -> int:
        """The one payload length this framing carries."""
        return self.size

    def encode(self, payload: bytes) -> bytes:
        """The payload itself; ValueError unless it is exactly ``size`` bytes."""
        if len(payload) != self.size:
            raise ValueError(f"a fixed-length message is {self.size} bytes, not {len(payload)}")
        return bytes(payload)

    def decoder(self) -> FixedDecoder:
        """A fresh :class:`FixedDecoder`."""
        return FixedDecoder(self)


class FixedDecoder(Decoder[bytes]):
    """Yields each ``size``-byte message; a partial one at the end of the stream is Truncated."""

    def __init__(self, framing: Fixed | None = None) -> None:
        super().__init__()
        self.framing = framing or Fixed()

    def _parse(self, buffer: bytearray) -> tuple[bytes, int] | None:
        size = self.framing.size
        if len(buffer) < size:
            return None
        return bytes(buffer[:size]), size


# -- close --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Close:
    """The message is the whole stream; the sender's half-close (EOF) ends it."""

    name: ClassVar[str] = "close"
    max_length: int = MAX_LENGTH

    def __post_init__(self) -> None:
        if self.max_length < 0:
            raise ValueError("max_length must be >= 0")

    def encode(self, payload: bytes) -> bytes:
        """The payload itself (the sender then half-closes)."""
        return bytes(payload)

    def decoder(self) -> CloseDecoder:
        """A fresh :class:`CloseDecoder`."""
        return CloseDecoder(self)


class CloseDecoder(Decoder[bytes]):
    """Yields one payload, the whole stream, after ``end_of_stream`` (even an empty one).

    ProtocolError as soon as more than ``max_length`` bytes are buffered.
    """

    def __init__(self, framing: Close | None = None) -> None:
        super().__init__()
        self.framing = framing or Close()
        self._delivered = False

    def _parse(self, buffer: bytearray) -> tuple[bytes, int] | None:
        if len(buffer) > self.framing.max_length:
            raise ProtocolError(f"the message is over the {self.framing.max_length}-byte limit")
        if not self._ended or self._delivered:
            return None
        self._delivered = True
        return bytes(buffer), len(buffer)


# -- from an assignment ---------------------------------------------------------

#: The ``[protocol] framing`` names this module knows.
NAMES = ("length-prefix", "delimiter", "fixed", "close")


def from_protocol(table: Mapping[str, Any]) -> Framing:
    """Build the framing an assignment's ``[protocol]`` table names.

    Keys: ``framing`` (one of :data:`NAMES`), ``max_length`` (bytes),
    ``header_bytes`` (length-prefix), ``delimiter`` (a string, UTF-8
    encoded), ``size`` (fixed).  Raises ValueError naming the bad key.
    """
    name = table.get("framing")
    max_length = int(table.get("max_length", MAX_LENGTH))
    if name == "length-prefix":
        return LengthPrefix(header_bytes=int(table.get("header_bytes", HEADER_BYTES)),
                            max_length=max_length)
    if name == "delimiter":
        delimiter = table.get("delimiter", DELIMITER)
        raw = delimiter.encode("utf-8") if isinstance(delimiter, str) else bytes(delimiter)
        return Delimiter(delimiter=raw, max_length=max_length)
    if name == "fixed":
        return Fixed(size=int(table.get("size", FIXED_SIZE)))
    if name == "close":
        return Close(max_length=max_length)
    raise ValueError(f"[protocol] framing = {name!r}: expected one of {', '.join(NAMES)}")
