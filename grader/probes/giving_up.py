"""How a client program must give up: one judgement for every client lab.

Theory of operation: when the server is missing, silent, refuses, closes
early, or the input is unusable, every client lab asks the same of the
program (docs/labs.md §14-§18): it ends by itself (no hang), exits with a
non-zero status, and explains itself in one line on stderr rather than a
traceback.  :func:`judge_gave_up` checks exactly that, in that order, so a
client with several faults is told the most basic one first; a lab
supplies only the hints that name its own likely cause (:class:`Hints`).
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.context import ClientRun
from grader.verdict import Evidence, ProbeFailed, excerpt


@dataclass(frozen=True, kw_only=True)
class Hints:
    """What to tell a student whose client did not give up cleanly, per fault."""

    hung: str
    exit_zero: str
    traceback: str = "catch OSError and print one clear line to stderr instead"
    one_line: str = "print one clear error line to stderr (print(..., file=sys.stderr))"


def judge_gave_up(run: ClientRun, situation: str, hints: Hints, *, subject: str = "the client",
                  killed: str = "killed at the deadline", quiet_stdout: str | None = None) -> None:
    """Raise :class:`ProbeFailed` unless ``run`` ended by itself, non-zero, with one stderr line.

    ``situation`` opens the reason (``"connection refused"``); ``killed``
    says when a hung client was stopped; with ``quiet_stdout`` (its hint)
    the client must also print nothing on stdout.
    """
    stderr = run.stderr.decode("utf-8", "replace").strip()
    if run.status is None:
        raise ProbeFailed(f"{situation}: {subject} hung ({killed})", hint=hints.hung,
                          evidence=Evidence(actual="still running"))
    if run.status == 0:
        raise ProbeFailed(f"{situation}: {subject} exited with status 0", hint=hints.exit_zero,
                          evidence=Evidence(expected="a non-zero exit status", actual="0"))
    if "Traceback" in stderr:
        raise ProbeFailed(f"{situation}: {subject} printed a traceback", hint=hints.traceback,
                          evidence=Evidence(actual=stderr[-800:]))
    lines = len(stderr.splitlines())
    if lines != 1:
        raise ProbeFailed(f"{situation}: expected one line on stderr, got {lines}",
                          hint=hints.one_line, evidence=Evidence(actual=excerpt(run.stderr)))
    if quiet_stdout is not None and run.stdout.strip():
        raise ProbeFailed(f"{situation}: {subject} printed on stdout", hint=quiet_stdout,
                          evidence=Evidence(actual=excerpt(run.stdout)))
