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


def student_view(result: GradeResult) -> GradeResult:
    """``result`` as a student may see it: hidden probes as numbered stand-ins.

    Returns ``result`` itself when no verdict is hidden.  The score, maximum,
    status and counts are unchanged (see the module docstring for what is
    replaced).  Pure: never raises for any result.
    """
    hidden = [v for v in result.verdicts if v.hidden]
    if not hidden:
        return result
    renames: dict[str, str] = {}
    for index, verdict in enumerate(hidden, start=1):
        stand_in = f"{result.assignment_id}/{HIDDEN_CATEGORY}/{hidden_name(index)}"
        renames[verdict.probe_id] = stand_in
        renames[f"{verdict.category}/{verdict.name}"] = f"{HIDDEN_CATEGORY}/{hidden_name(index)}"
    order = sorted(renames, key=len, reverse=True)  # full ids before their category/name tails

    def scrub(text: str) -> str:
        for old in order:
            text = text.replace(old, renames[old])
        return text

    verdicts: list[Verdict] = []
    for verdict in result.verdicts:
        if verdict.hidden:
            stand_in = renames[verdict.probe_id]
            verdicts.append(Verdict(
                probe_id=stand_in, category=HIDDEN_CATEGORY, name=stand_in.rsplit("/", 1)[1],
                outcome=verdict.outcome, tier=verdict.tier, weight=verdict.weight,
                time=verdict.time, requirement=_REQUIREMENT, reason=_REASONS[verdict.outcome],
                excused=verdict.excused, hidden=True))
            continue
        evidence = verdict.evidence
        verdicts.append(replace(
            verdict, reason=scrub(verdict.reason), hint=scrub(verdict.hint),
            requirement=scrub(verdict.requirement),
            transcript=tuple(scrub(step) for step in verdict.transcript),
            evidence=Evidence(
                sent=None if evidence.sent is None else scrub(evidence.sent),
                expected=None if evidence.expected is None else scrub(evidence.expected),
                actual=None if evidence.actual is None else scrub(evidence.actual),
                first_difference=evidence.first_difference,
                transport=None if evidence.transport is None else scrub(evidence.transport),
                details=tuple(scrub(line) for line in evidence.details))))
    return replace(
        result, verdicts=tuple(verdicts),
        notes=(*(scrub(note) for note in result.notes), OUTPUT_WITHHELD),
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
