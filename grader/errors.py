"""The exceptions sockgrade raises, and which exit status each maps to.

Theory of operation: anything the user can fix (a bad path, an unknown
assignment, malformed TOML) is a :class:`UsageError`; anything that is the
grader's or the machine's fault is a :class:`GraderError`.  The command line
prints either as one line and exits with status 2; a traceback is a bug.
"""

from __future__ import annotations


class SockgradeError(Exception):
    """Base class: a condition reported to the user as one line, exit status 2."""

    kind = "error"


class UsageError(SockgradeError):
    """The user's input is wrong: a missing file, an unknown id, a bad option."""

    kind = "usage error"


class AssignmentError(UsageError):
    """An assignment file is invalid; the message names the file, the key and why."""

    kind = "invalid assignment"


class GraderError(SockgradeError):
    """The grader or the machine failed (not the submission's fault)."""

    kind = "grader error"


class LaunchError(GraderError):
    """A launcher could not start a program for reasons outside the submission."""

    kind = "launch error"
