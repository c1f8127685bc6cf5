"""The file-upload protocol (docs/labs.md §10 and §17), sans-IO.

Theory of operation: an upload is a header and the content::

    name length   4 bytes, big-endian unsigned
    name          that many bytes, UTF-8
    size          8 bytes, big-endian unsigned
    content       that many bytes

The server answers with one line, ``OK\\n`` or ``ERR <reason>\\n``, then
closes.  :class:`UploadDecoder` is the server's side: it yields one
:class:`Upload` once the header and all ``size`` content bytes are in
(:meth:`UploadDecoder.header` shows the header as soon as it is complete),
and raises :class:`~grader.codecs.base.ProtocolError` for a name that is
not UTF-8 or a length over its caps — never allocating what a header merely
claims.  :class:`ReplyDecoder` is the client's side.  Field widths and
reply strings are parameters of :class:`Protocol`, so an assignment's
``[protocol]`` table can change them.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.codecs.base import Decoder, ProtocolError

#: Default cap on a name's length in bytes.
MAX_NAME = 4096
#: Default cap on the content size in bytes (the decoder buffers the content).
MAX_SIZE = 1024 * 1024 * 1024
#: Default cap on a reply line in bytes.
MAX_REPLY = 4096


@dataclass(frozen=True, kw_only=True)
class Header:
    """An upload header: the file ``name`` (decoded) and content ``size`` in bytes."""

    name: str
    size: int


@dataclass(frozen=True, kw_only=True)
class Upload:
    """A whole upload: the file ``name`` and its ``content``."""

    name: str
    content: bytes


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A server reply: ``ok`` or not, the error ``reason`` (text, may be empty), ``raw`` line."""

    ok: bool
    reason: str
    raw: bytes


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """Field widths (bytes) and reply strings of one course's upload protocol.

    ``ok`` is the whole success line; an error line is ``error``, optionally
    a space and a reason, then ``eol``.
    """

    name_length_bytes: int = 4
    size_bytes: int = 8
    ok: bytes = b"OK\n"
    error: bytes = b"ERR"
    eol: bytes = b"\n"

    def __post_init__(self) -> None:
        if self.name_length_bytes < 1 or self.size_bytes < 1:
            raise ValueError("field widths must be at least one byte")
        if not self.eol or not self.ok.endswith(self.eol) or not self.error:
            raise ValueError("reply strings must be non-empty and the OK line must end in eol")

    def header(self, name: str | bytes, size: int) -> bytes:
        """Encode a header; a ``str`` name is UTF-8 encoded, ``bytes`` are sent as given.

        Raises ValueError when the name or size does not fit its field.
        """
        raw = name.encode("utf-8") if isinstance(name, str) else name
        if len(raw) >= 256**self.name_length_bytes or not 0 <= size < 256**self.size_bytes:
            raise ValueError("name or size does not fit its field")
        return (len(raw).to_bytes(self.name_length_bytes, "big") + raw
                + size.to_bytes(self.size_bytes, "big"))

    def upload(self, name: str | bytes, content: bytes) -> bytes:
        """Encode a whole upload (header then content)."""
        return self.header(name, len(content)) + content

    def error_line(self, reason: str) -> bytes:
        """Encode an error reply with ``reason`` (one line: newlines become spaces)."""
        text = " ".join(reason.split())
        return self.error + (b" " + text.encode("utf-8") if text else b"") + self.eol


class UploadDecoder(Decoder[Upload]):
    """Server side: yields :class:`Upload`; ProtocolError for a bad name or a length over a cap.

    ``max_name`` and ``max_size`` are in bytes.
    """

    def __init__(self, protocol: Protocol | None = None, *, max_name: int = MAX_NAME,
                 max_size: int = MAX_SIZE) -> None:
        super().__init__()
        self.protocol = protocol or Protocol()
        self.max_name = max_name
        self.max_size = max_size
        self._header: Header | None = None
        self._header_length = 0

    def header(self) -> Header | None:
        """The current upload's header once complete (before its content is), else None."""
        if self._header is None:
            self._parse_header(self._buffer)
        return self._header

    def _parse_header(self, buffer: bytearray) -> None:
        proto = self.protocol
        width = proto.name_length_bytes
        if len(buffer) < width:
            return
        name_length = int.from_bytes(buffer[:width], "big")
        if name_length > self.max_name:
            raise ProtocolError(f"name length {name_length} is over the {self.max_name}-byte cap")
        end = width + name_length + proto.size_bytes
        if len(buffer) < end:
            return
        try:
            name = bytes(buffer[width : width + name_length]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"the name is not UTF-8: {exc}") from None
        size = int.from_bytes(buffer[width + name_length : end], "big")
        if size > self.max_size:
            raise ProtocolError(f"size {size} is over the {self.max_size}-byte cap")
        self._header = Header(name=name, size=size)
        self._header_length = end

    def _parse(self, buffer: bytearray) -> tuple[Upload, int] | None:
        if self._header is None:
            self._parse_header(buffer)
            if self._header is None:
                return None
        header, start = self._header, self._header_length
        end = start + header.size
        if len(buffer) < end:
            return None
        self._header = None
        return Upload(name=header.name, content=bytes(buffer[start:end])), end


class ReplyDecoder(Decoder[Reply]):
    """Client side: yields :class:`Reply`; any other line raises ProtocolError.

    A line longer than ``max_reply`` bytes raises ProtocolError.
    """

    def __init__(self, protocol: Protocol | None = None, *, max_reply: int = MAX_REPLY) -> None:
        super().__init__()
        self.protocol = protocol or Protocol()
        self.max_reply = max_reply

    def _parse(self, buffer: bytearray) -> tuple[Reply, int] | None:
        proto = self.protocol
        end = buffer.find(proto.eol)
        if end < 0:
            if len(buffer) > self.max_reply:
                raise ProtocolError(f"no end of line within {self.max_reply} bytes")
            return None
        consumed = end + len(proto.eol)
        line = bytes(buffer[:consumed])
        if line == proto.ok:
            return Reply(ok=True, reason="", raw=line), consumed
        body = line[: -len(proto.eol)]
        if body == proto.error or body.startswith(proto.error + b" "):
            reason = body[len(proto.error) :].strip().decode("utf-8", "replace")
            return Reply(ok=False, reason=reason, raw=line), consumed
        raise ProtocolError(f"reply is neither {proto.ok!r} nor {proto.error!r} + reason: {line!r}")
