"""The decoder base shared by every lab codec.

Theory of operation: subclasses implement :meth:`Decoder._parse`, which looks
at the buffered bytes and returns ``(message, consumed)`` or ``None`` when
more bytes are needed.  The base class owns the buffer, the end-of-stream
state and the rule that only :class:`ProtocolError` (and its subclass
:class:`Truncated`) escape.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class ProtocolError(ValueError):
    """The bytes break the protocol (a bad header, a length over the limit...)."""


class Truncated(ProtocolError):
    """The stream ended in the middle of a message."""


class Decoder(Generic[T]):
    """Incremental decoder: ``feed`` bytes, take whole messages with ``next_message``."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._ended = False

    def feed(self, data: bytes) -> None:
        """Add received bytes (any split, including empty)."""
        if self._ended and data:
            raise ProtocolError("data after end of stream")
        self._buffer += data

    def end_of_stream(self) -> None:
        """The peer closed its side; afterwards leftover partial bytes raise Truncated."""
        self._ended = True

    @property
    def pending(self) -> bytes:
        """Bytes received but not yet part of a whole message."""
        return bytes(self._buffer)

    def next_message(self) -> T | None:
        """The next whole message, or None when more bytes are needed (or the stream ended
        cleanly).  Raises ProtocolError for malformed input, Truncated for a cut-off message."""
        parsed = self._parse(self._buffer)
        if parsed is None:
            if self._ended and self._buffer:
                raise Truncated(f"stream ended inside a message ({len(self._buffer)} bytes pending)")
            return None
        message, consumed = parsed
        del self._buffer[:consumed]
        return message

    def messages(self) -> list[T]:
        """Every whole message available now."""
        out = []
        while (message := self.next_message()) is not None:
            out.append(message)
        return out

    def _parse(self, buffer: bytearray) -> tuple[T, int] | None:
        raise NotImplementedError
