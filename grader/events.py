"""Typed transport events: what a socket operation ended with.

Theory of operation: probes never judge raw exceptions or ``b""`` returns.
Every read or write through :mod:`grader.net` ends in exactly one of these
events, and verdicts are decided on them (the model is h2spec's
``WaitEvent``).  ``Closed`` is an orderly close by the peer (a FIN, read as
EOF); ``Reset`` is an abortive close (an RST: ``ECONNRESET``/``EPIPE``);
``Timeout`` means the deadline passed with the operation unfinished;
``Overflow`` means the peer sent more than the read cap allowed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Done:
    """The operation completed: the expected bytes were read or all bytes were sent."""

    def describe(self) -> str:
        return "completed"


@dataclass(frozen=True, kw_only=True)
class Closed:
    """The peer closed its sending side in order (FIN): reads return EOF."""

    def describe(self) -> str:
        return "peer closed the connection (FIN/EOF)"


@dataclass(frozen=True, kw_only=True)
class Reset:
    """The peer aborted the connection (RST), or the connection was refused.

    ``error`` is the operating system's message, e.g. ``"[Errno 104] Connection
    reset by peer"``.
    """

    error: str

    def describe(self) -> str:
        return f"connection reset (RST): {self.error}"


@dataclass(frozen=True, kw_only=True)
class Timeout:
    """The deadline passed; ``after`` is how long the operation waited, in seconds."""

    after: float

    def describe(self) -> str:
        return f"timed out after {self.after:.2f} s with no further data"


@dataclass(frozen=True, kw_only=True)
class Overflow:
    """The peer sent more than ``cap`` bytes where fewer were expected."""

    cap: int

    def describe(self) -> str:
        return f"peer sent more than the {self.cap}-byte read cap"


Event = Done | Closed | Reset | Timeout | Overflow
