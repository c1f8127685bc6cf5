"""What a student may see of a grading: hidden probes, filtered in one place.

Theory of operation: an assignment may mark probes ``hidden = true``
(``[probes."category/name"]``, :class:`grader.assignment.ProbeConfig`).  A
hidden probe runs and counts like any other (score, status, exit code), but
a *student-facing* output shows neither its name, its requirement nor its
evidence.  Every writer stays a pure function of a
:class:`~grader.runner.GradeResult`; the caller chooses the audience:

* the teacher's outputs (``sockgrade batch``, ``sockgrade check --show-hidden``)
  get the result as graded;
* every student-facing output (``sockgrade check``: console, JSON, JUnit,
  Gradescope, PrairieLearn; the GitHub Action and Classroom outputs) gets
  :func:`student_view` of it.

:func:`student_view` replaces each hidden verdict by a numbered stand-in
(``<assignment>/hidden/probe-N``, category ``hidden``, in run order) that
keeps the outcome, weight, tier, time and ``excused`` flag, and drops the
requirement, reason details, hint, evidence and transcript.  Text of the
visible verdicts and the notes that names a hidden probe (a skip "depends on
.../robustness/client-reset, which failed") names its stand-in instead.
The program's captured stdout/stderr is withheld when any probe is hidden:
a program that prints what it receives would otherwise show the hidden
probes' payloads.  The stand-ins keep ``hidden=True``, so a format with its
own visibility control (Gradescope's ``visibility``) can still mark them.

Not a secret against a student who runs the grader with the assignment file
themselves: hiding is done by the place that runs the grader for them
(Gradescope, PrairieLearn, GitHub Classroom).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from grader.launch.base import Output
from grader.runner import GradeResult
from grader.verdict import Evidence, Outcome, Verdict

#: Category of the stand-in verdicts of hidden probes.
HIDDEN_CATEGORY = "hidden"
#: Note added to a student view whose captured program output was withheld.
OUTPUT_WITHHELD = ("the program's captured output is not shown: this assignment has hidden "
                   "probes, and it could show what they sent")
_REASONS = {
    Outcome.PASSED: "",
    Outcome.FAILED: "failed (a hidden probe: its requirement and evidence are not shown)",
    Outcome.ERROR: "grader error (a hidden probe; not counted against the submission)",
    Outcome.SKIPPED: "skipped (a hidden probe: a probe it depends on did not pass)",
}
_REQUIREMENT = "A hidden probe: the assignment does not show its requirement."


def hidden_name(index: int) -> str:
    """The stand-in name (``probe-N``, N from 1) of the index-th hidden probe, in run order."""
    return f"probe-{index}"


class Redactor:
    """Turns verdicts and text into what a student may see, for one grading.

    ``hidden_ids``: the probe ids of the hidden probes, in run order (their
    stand-ins are numbered in that order).  Used by :func:`student_view`
    for a finished result, and on its own for verdicts shown as they finish.
    """

    def __init__(self, assignment_id: str, hidden_ids: Sequence[str]) -> None:
        self._stand_ins: dict[str, str] = {}
        renames: dict[str, str] = {}
        for index, probe_id in enumerate(hidden_ids, start=1):
            short = f"{HIDDEN_CATEGORY}/{hidden_name(index)}"
            self._stand_ins[probe_id] = f"{assignment_id}/{short}"
            renames[probe_id] = f"{assignment_id}/{short}"
            renames[probe_id.removeprefix(f"{assignment_id}/")] = short
        self._renames = renames
        self._order = sorted(renames, key=len, reverse=True)  # full ids before their tails

    def text(self, text: str) -> str:
        """``text`` with every hidden probe's id or ``category/name`` replaced by its stand-in."""
        for old in self._order:
            text = text.replace(old, self._renames[old])
        return text

    def verdict(self, verdict: Verdict) -> Verdict:
        """The stand-in of a hidden verdict; a visible one with hidden names scrubbed."""
        if verdict.probe_id in self._stand_ins:
            stand_in = self._stand_ins[verdict.probe_id]
            return Verdict(
                probe_id=stand_in, category=HIDDEN_CATEGORY, name=stand_in.rsplit("/", 1)[1],
                outcome=verdict.outcome, tier=verdict.tier, weight=verdict.weight,
                time=verdict.time, requirement=_REQUIREMENT, reason=_REASONS[verdict.outcome],
                excused=verdict.excused, hidden=True)
        scrub, evidence = self.text, verdict.evidence
        return replace(
            verdict, reason=scrub(verdict.reason), hint=scrub(verdict.hint),
            requirement=scrub(verdict.requirement),
            transcript=tuple(scrub(step) for step in verdict.transcript),
            evidence=Evidence(
                sent=None if evidence.sent is None else scrub(evidence.sent),
                expected=None if evidence.expected is None else scrub(evidence.expected),
                actual=None if evidence.actual is None else scrub(evidence.actual),
                first_difference=evidence.first_difference,
                transport=None if evidence.transport is None else scrub(evidence.transport),
                details=tuple(scrub(line) for line in evidence.details)))


def student_view(result: GradeResult) -> GradeResult:
    """``result`` as a student may see it: hidden probes as numbered stand-ins.

    Returns ``result`` itself when no verdict is hidden.  The score, maximum,
    status and counts are unchanged (see the module docstring for what is
    replaced).  Pure: never raises for any result.
    """
    hidden = [v.probe_id for v in result.verdicts if v.hidden]
    if not hidden:
        return result
    redactor = Redactor(result.assignment_id, hidden)
    return replace(
        result, verdicts=tuple(redactor.verdict(v) for v in result.verdicts),
        notes=(*(redactor.text(note) for note in result.notes), OUTPUT_WITHHELD),
        output=Output(stdout=b"", stderr=b"", stdout_total=0, stderr_total=0))


def hidden_summary(result: GradeResult) -> str | None:
    """One line on the hidden probes, e.g. ``"2 hidden probes: 1 passed, 1 failed"``; None
    when there are none.  The same for a result and its :func:`student_view`."""
    hidden = [v for v in result.verdicts if v.hidden]
    if not hidden:
        return None
    counts = [f"{n} {o.value}" for o in Outcome
              if (n := sum(1 for v in hidden if v.outcome is o))]
    noun = "hidden probe" if len(hidden) == 1 else "hidden probes"
    return f"{len(hidden)} {noun}: {', '.join(counts)}"
