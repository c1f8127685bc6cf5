"""Console report: a line per probe, then each failure's evidence and hint, then the score.

Theory of operation: rendered with rich, which drops colour when the output
is not a terminal or ``NO_COLOR`` is set.  Submission text is cleaned
(:func:`grader.report.text.clean`) and printed without markup
interpretation, so a hostile program cannot inject escapes into the
teacher's terminal.  On a terminal, ``sockgrade check`` shows each probe's
line as it finishes (:class:`LiveLines`, in finishing order), then the rest
of the report; elsewhere (a pipe, a CI log) the report is printed once, in
run order, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from grader.report.text import clean
from grader.report.visibility import hidden_summary
from grader.runner import GradeResult
from grader.verdict import Outcome, Tier, Verdict

_STYLE = {
    Outcome.PASSED: ("PASS", "green"),
    Outcome.FAILED: ("FAIL", "bold red"),
    Outcome.ERROR: ("ERROR", "bold magenta"),
    Outcome.SKIPPED: ("SKIP", "yellow"),
}


#: A failed informational probe: advice, shown apart from failures.
_ADVICE = ("INFO", "yellow")


def _label(verdict: Verdict) -> tuple[str, str]:
    return _ADVICE if verdict.advice else _STYLE[verdict.outcome]


def _line(verdict: Verdict) -> Text:
    label, style = _label(verdict)
    text = Text()
    text.append(f"{label:<5}", style=style)
    text.append(f" {verdict.probe_id}")
    if verdict.tier is Tier.INFORMATIONAL:
        text.append(" (informational)", style="dim")
    text.append(f"  {verdict.time:.2f}s", style="dim")
    if verdict.outcome is not Outcome.PASSED and verdict.reason:
        text.append(f"  {clean(verdict.reason, limit=200)}", style="dim" if
                    verdict.outcome is Outcome.SKIPPED else "")
    return text


def _probe(verdict: Verdict, console: Console, verbose: bool) -> None:
    console.print(_line(verdict))
    if verbose and verdict.transcript:
        for step in verdict.transcript:
            console.print(Text("        " + clean(step, limit=300), style="dim"))


def title(assignment_id: str, assignment_title: str, console: Console) -> None:
    """Print the report's first line (live mode prints it before grading starts)."""
    console.print(Text(f"{assignment_id} — {assignment_title}", style="bold"))


class LiveLines:
    """Prints each probe's line (and with ``verbose`` its transcript) as its verdict arrives.

    Pass an instance as the runner's ``on_verdict``; lanes call it from their
    threads, so printing is serialised.  ``transform`` maps each verdict to what
    may be shown (:meth:`grader.report.visibility.Redactor.verdict` for a
    student).  Lines appear in the order probes finish; :func:`render` with
    ``live=True`` then prints the rest of the report.
    """

    def __init__(self, console: Console, transform: Callable[[Verdict], Verdict], *,
                 verbose: bool = False) -> None:
        self.console = console
        self.transform = transform
        self.verbose = verbose
        self._lock = threading.Lock()

    def __call__(self, verdict: Verdict) -> None:
        """Print ``verdict``'s line now."""
        shown = self.transform(verdict)
        with self._lock:
            _probe(shown, self.console, self.verbose)


def render(result: GradeResult, console: Console, *, verbose: bool = False,
           live: bool = False) -> None:
    """Print ``result`` to ``console``; ``verbose`` adds every probe's transcript.

    ``live``: the title and the probe lines were already printed (:func:`title`,
    :class:`LiveLines`); print the rest.
    """
    if not live:
        title(result.assignment_id, result.assignment_title, console)
    else:
        console.print()
    console.print(Text(f"submission: {clean(result.submission, limit=300)}   runner: "
                       f"{result.runner}   seed: {result.seed}", style="dim"))
    if result.command:
        console.print(Text("command: " + clean(" ".join(result.command), limit=300), style="dim"))
    if not live:
        console.print()
        for verdict in result.verdicts:
            _probe(verdict, console, verbose)
    problems = [v for v in result.verdicts if v.outcome in (Outcome.FAILED, Outcome.ERROR)]
    for verdict in problems:
        console.print()
        label, style = _label(verdict)
        console.print(Text(f"{label} {verdict.probe_id}", style=style))
        console.print(Text(f"  requirement: {verdict.requirement}"))
        console.print(Text(f"  reason: {clean(verdict.reason, limit=500)}"))
        for line in verdict.evidence.lines():
            for part in clean(line, limit=2000).splitlines():
                console.print(Text(f"    {part}"))
        if verdict.hint:
            console.print(Text(f"  hint: {verdict.hint}", style="cyan"))
        if verdict.outcome is Outcome.ERROR:
            console.print(Text("  (a grader error: it does not count against the submission)",
                               style="dim"))
        elif verdict.advice:
            console.print(Text("  (informational: advice, not scored and not a failure)",
                               style="dim"))
    hidden = hidden_summary(result)
    if hidden:
        console.print()
        console.print(Text(hidden, style="dim"))
    if result.notes:
        console.print()
        for note in result.notes:
            console.print(Text(f"note: {clean(note, limit=500)}", style="yellow"))
    console.print()
    counts = ", ".join([*(f"{result.count(o)} {o.value}" for o in Outcome if result.count(o)),
                        *([f"{result.advice_count} advice"] if result.advice_count else [])])
    status_style = {"passed": "bold green", "failed": "bold red"}.get(result.status, "bold magenta")
    summary = Text()
    summary.append(f"score {result.score:g}/{result.max_score:g}", style=status_style)
    summary.append(f"  ({counts}; {result.duration:.1f}s)  {result.status.upper()}")
    console.print(summary)
