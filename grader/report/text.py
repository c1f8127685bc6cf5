"""Making arbitrary submission output safe for XML and terminals.

Theory of operation: a submission may print any bytes.  XML 1.0 forbids most
control characters even as character references, and ANSI escapes corrupt
terminals and CI viewers.  :func:`clean` decodes leniently, removes ANSI
escape sequences, replaces the remaining forbidden characters with U+FFFD,
and caps the size.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(data: bytes | str, *, limit: int = 64 * 1024) -> str:
    """``data`` as text safe for XML 1.0 and terminals, at most ``limit`` characters."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = _ANSI.sub("", text)
    text = _FORBIDDEN.sub("\ufffd", text)
    if len(text) > limit:
        text = text[:limit] + f"\n[... {len(text) - limit} more characters cut ...]"
    return text
