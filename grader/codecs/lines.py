"""Newline-terminated UTF-8 text lines, sans-IO (docs/labs.md §5, §7 and §9 "delimiter").

Theory of operation: a line is UTF-8 text followed by the newline byte
string (``\\n`` by default).  :class:`LineDecoder` buffers bytes however
they were split across reads and yields each line's text without its
newline; a carriage return before the newline is kept (callers decide).
A line longer than ``max_line`` bytes (newline excluded), whether or not
its newline has arrived, raises :class:`~grader.codecs.base.ProtocolError`,
so a peer that never sends a newline cannot make the buffer grow forever.
Bytes that are not UTF-8 raise ProtocolError too; the bad line is consumed
first, so decoding can go on with the next one.  :func:`encode_line` is the
matching encoder.
"""

from __future__ import annotations

from grader.codecs.base import Decoder, ProtocolError

#: Default newline.
NEWLINE = b"\n"
#: Default cap on one line's length in bytes, newline excluded.
MAX_LINE = 64 * 1024


def encode_line(text: str, *, newline: bytes = NEWLINE) -> bytes:
    """``text`` as UTF-8 plus ``newline``; ValueError if ``text`` contains the newline."""
    data = text.encode("utf-8")
    if newline in data:
        raise ValueError("a line must not contain the newline")
    return data + newline


class LineDecoder(Decoder[str]):
    """Yields each line's text (newline removed).

    ``max_line`` is in bytes, newline excluded.  Raises ProtocolError for a
    line over the cap or not valid UTF-8; Truncated (from the base class)
    when the stream ends inside a line.
    """

    def __init__(self, *, max_line: int = MAX_LINE, newline: bytes = NEWLINE) -> None:
        super().__init__()
        if not newline:
            raise ValueError("newline must not be empty")
        if max_line < 0:
            raise ValueError("max_line must not be negative")
        self.max_line = max_line
        self.newline = newline

    def _parse(self, buffer: bytearray) -> tuple[str, int] | None:
        end = buffer.find(self.newline)
        if end < 0:
            # The newline might be split across feeds: only bytes that cannot start it count.
            if len(buffer) - (len(self.newline) - 1) > self.max_line:
                raise ProtocolError(f"no newline within {self.max_line} bytes")
            return None
        if end > self.max_line:
            del buffer[: end + len(self.newline)]
            raise ProtocolError(f"line of {end} bytes is over the {self.max_line}-byte limit")
        try:
            text = bytes(buffer[:end]).decode("utf-8")
        except UnicodeDecodeError as exc:
            del buffer[: end + len(self.newline)]
            raise ProtocolError(f"line is not UTF-8: {exc.reason} at byte {exc.start}") from None
        return text, end + len(self.newline)
