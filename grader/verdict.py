"""Verdicts, evidence and the exceptions probes raise to produce them.

Theory of operation: a probe returns normally when its requirement holds.
When the submission breaks the requirement the probe raises
:class:`ProbeFailed` with :class:`Evidence` (what was sent, expected and
received, the transport event, the first differing offset) and a hint naming
the likely bug; the runner turns that into a ``failed`` verdict.  When the
grader or the machine is at fault the probe raises :class:`ProbeError` (or
any other exception escapes) and the verdict is ``error``: never counted
against the student.  A probe whose dependency did not pass is ``skipped``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from grader.events import Event

#: Characters of a payload shown in evidence excerpts.
EXCERPT = 80


class Outcome(enum.StrEnum):
    """The four verdict outcomes (JUnit: pass, ``<failure>``, ``<error>``, ``<skipped>``)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class Tier(enum.StrEnum):
    """Whether a probe counts toward the score (required) or is advice (informational)."""

    REQUIRED = "required"
    INFORMATIONAL = "informational"


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """Expected-versus-actual facts behind a failure; every field is optional text.

    ``first_difference`` is a byte offset into the payload.
    """

    sent: str | None = None
    expected: str | None = None
    actual: str | None = None
    first_difference: int | None = None
    transport: str | None = None
    details: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The evidence as ``label: value`` lines, for console and JUnit text."""
        out = []
        for label, value in (
            ("sent", self.sent),
            ("expected", self.expected),
            ("actual", self.actual),
        ):
            if value is not None:
                out.append(f"{label}: {value}")
        if self.first_difference is not None:
            out.append(f"first difference at byte offset {self.first_difference}")
        if self.transport is not None:
            out.append(f"transport: {self.transport}")
        out.extend(self.details)
        return out


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The result of one probe on one submission.

    ``reason`` is one line; ``time`` is in seconds; ``transcript`` is the
    probe's step log (shown with ``--verbose``).
    """

    probe_id: str
    category: str
    name: str
    outcome: Outcome
    tier: Tier
    weight: float
    time: float
    requirement: str
    reason: str = ""
    hint: str = ""
    evidence: Evidence = field(default_factory=Evidence)
    transcript: tuple[str, ...] = ()
    #: True when a grader fault (an error, or a skip caused by one) excuses the probe.
    excused: bool = False
    #: True for a probe the assignment marks ``hidden``: it counts, but student-facing
    #: reports show it only through :func:`grader.report.visibility.student_view`.
    hidden: bool = False

    @property
    def advice(self) -> bool:
        """True for a failed informational probe: reported as advice, never as a failure.

        It counts nowhere a failure counts (score, status, failed counts, the
        probes failed most often) and JUnit shows it as skipped, as pytest
        shows an expected failure.
        """
        return self.tier is Tier.INFORMATIONAL and self.outcome is Outcome.FAILED


class ProbeFailed(Exception):
    """Raised by a probe when the submission breaks the requirement."""

    def __init__(self, reason: str, *, hint: str = "", evidence: Evidence | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
        self.evidence = evidence or Evidence()


class ProbeError(Exception):
    """Raised by a probe when the grader or machine, not the submission, is at fault."""


class TimeLimit(ProbeError):
    """Raised by a probe whose time limit ended it while the program was still making correct
    progress (bytes still arriving, every one right): no verdict either way.

    A slow but correct program (one that prints every small chunk, or runs on a
    loaded machine) must not fail on the grader's cap, and the cap must not pass it
    either: the outcome is an ``error`` with the reason given, not a grader fault.
    A program that stops making progress is judged by the probe's idle timeout.
    """


def excerpt(data: bytes, *, limit: int = EXCERPT) -> str:
    """A readable, bounded rendering of ``data``: ``b'...'`` repr, with its size.

    Long data shows its head and tail around the elision.
    """
    if len(data) <= limit:
        body = repr(data)
    else:
        half = limit // 2
        body = f"{data[:half]!r} ... {data[-half:]!r}"
    return f"{body} ({len(data)} bytes)"


def first_difference(expected: bytes, actual: bytes) -> int | None:
    """Offset of the first byte where the two differ, or None when equal."""
    if expected == actual:
        return None
    for index, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return index
    return min(len(expected), len(actual))


def mismatch(
    reason: str,
    *,
    sent: bytes | None,
    expected: bytes,
    actual: bytes,
    end: Event | None,
    hint: str,
) -> ProbeFailed:
    """Build a :class:`ProbeFailed` comparing two byte strings, with excerpts around the diff."""
    offset = first_difference(expected, actual)
    details: tuple[str, ...] = ()
    if offset is not None and offset > EXCERPT // 2:
        lo = max(0, offset - 16)
        details = (
            f"around offset {offset}: expected {expected[lo : offset + 16]!r}, "
            f"got {actual[lo : offset + 16]!r}",
        )
    return ProbeFailed(
        reason,
        hint=hint,
        evidence=Evidence(
            sent=None if sent is None else excerpt(sent),
            expected=excerpt(expected),
            actual=excerpt(actual),
            first_difference=offset,
            transport=None if end is None else end.describe(),
            details=details,
        ),
    )
