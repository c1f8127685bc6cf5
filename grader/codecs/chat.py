"""The chat-server protocol's strings (docs/labs.md §7), sans-IO: format and recognise lines.

Theory of operation: the chat protocol is newline-terminated UTF-8 lines
(:mod:`grader.codecs.lines`) plus one prompt without a newline.  What a
course hands out is five strings, so they are data: :class:`ChatStrings`
is built from an assignment's ``[protocol]`` table (a course with other
strings edits its TOML, not code).  The three templates hold placeholders:
``{name}`` in the join, leave and message strings and ``{line}`` in the
message string.  :meth:`ChatStrings.parse` recognises a received line as a
welcome, a join or leave notice, a message, or something else; names are
matched as the grader's own member names (letters, digits, ``_``), and when
a line fits several templates the caller may say which names it knows.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: The handout's strings (docs/labs.md §7).
PROMPT = "Masukkan username: "
WELCOME = "Selamat datang di server chat!"
JOIN = "{name} telah bergabung ke chat"
MESSAGE = "{name}: {line}"
LEAVE = "{name} telah meninggalkan chat"

#: What a member name the grader chooses looks like.
NAME_PATTERN = r"[A-Za-z0-9_]+"

Kind = Literal["welcome", "join", "leave", "message", "other"]


@dataclass(frozen=True, kw_only=True)
class ChatLine:
    """One received line, recognised: ``kind``, the member ``name`` it is about, the ``text``
    of a message (None otherwise), and the ``raw`` line."""

    kind: Kind
    name: str | None
    text: str | None
    raw: str


def _fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


@functools.lru_cache(maxsize=64)
def _pattern(template: str) -> re.Pattern[str]:
    out = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if field == "name":
            out.append(f"(?P<name>{NAME_PATTERN})")
        elif field == "line":
            out.append("(?P<line>.*)")
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class ChatStrings:
    """The five strings of one course's chat protocol (defaults: docs/labs.md §7).

    Raises ValueError when a template lacks or misuses a placeholder, or a
    string contains a newline.
    """

    prompt: str = PROMPT
    welcome: str = WELCOME
    join: str = JOIN
    message: str = MESSAGE
    leave: str = LEAVE

    def __post_init__(self) -> None:
        wanted = {"prompt": [], "welcome": [], "join": ["name"], "leave": ["name"],
                  "message": ["name", "line"]}
        for key, fields in wanted.items():
            value = getattr(self, key)
            if "\n" in value:
                raise ValueError(f"{key}: must not contain a newline")
            try:
                found = _fields(value)
            except ValueError as exc:
                raise ValueError(f"{key}: malformed template {value!r}: {exc}") from None
            if sorted(found) != sorted(fields):
                want = ", ".join("{" + f + "}" for f in fields) or "no placeholder"
                raise ValueError(f"{key}: {value!r} must contain exactly {want}")
        if not self.prompt:
            raise ValueError("prompt: must not be empty")

    @classmethod
    def from_protocol(cls, table: Mapping[str, Any]) -> ChatStrings:
        """The strings from an assignment's ``[protocol]`` table; missing keys keep the defaults.

        Raises ValueError for a key that is not a string.
        """
        values: dict[str, str] = {}
        for key in ("prompt", "welcome", "join", "message", "leave"):
            if key in table:
                if not isinstance(table[key], str):
                    raise ValueError(f"protocol.{key}: expected a string")
                values[key] = table[key]
        return cls(**values)

    # -- formatting (what a correct server sends) -------------------------

    def joined(self, name: str) -> str:
        """The notice other members get when ``name`` joins."""
        return self.join.format(name=name)

    def left(self, name: str) -> str:
        """The notice other members get when ``name`` leaves."""
        return self.leave.format(name=name)

    def said(self, name: str, line: str) -> str:
        """What other members get when ``name`` sends ``line``."""
        return self.message.format(name=name, line=line)

    # -- recognising (what a client receives) -----------------------------

    def parse(self, line: str, *, known: Collection[str] = ()) -> ChatLine:
        """Recognise one received line (newline removed).

        A line that fits several templates is read as the one whose name is
        in ``known``, else as the first that fits (join, leave, message).
        """
        if line == self.welcome:
            return ChatLine(kind="welcome", name=None, text=None, raw=line)
        fits: list[ChatLine] = []
        for kind, template in (("join", self.join), ("leave", self.leave),
                               ("message", self.message)):
            match = _pattern(template).fullmatch(line)
            if match:
                fits.append(ChatLine(kind=kind, name=match["name"],  # type: ignore[arg-type]
                                     text=match.groupdict().get("line"), raw=line))
        for fit in fits:
            if fit.name in known:
                return fit
        if fits:
            return fits[0]
        return ChatLine(kind="other", name=None, text=None, raw=line)
