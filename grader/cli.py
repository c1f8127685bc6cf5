"""The ``sockgrade`` command line.

Theory of operation: each subcommand parses its arguments, resolves the
assignment and submission (usage errors become one line and exit status 2),
runs the grader and writes the requested reports.  Exit status: 0 when every
required probe passed, 1 when one failed, 2 for a usage or grader error.
Settings resolve once, in :mod:`grader.settings` (probe default < assignment
file < environment < command line).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from grader import __version__, interrupts, tls
from grader.assignment import Assignment, bundled, load
from grader.bundle import REFERENCE_DIR
from grader.errors import SockgradeError, UsageError
from grader.launch.tracked import TrackedLauncher
from grader.runner import GradeResult, Runner
from grader.settings import add_grading_options, make_launcher, reference_submission, resolve
from grader.submission import Submission, from_command, from_path

EXIT = {"passed": 0, "failed": 1, "error": 2}
#: Seconds an interrupted grading gets to wind down once its programs are stopped.
ABORT_GRACE = 20.0


def _submission(args: argparse.Namespace, assignment: Assignment) -> Submission:
    if args.reference:
        if args.target or args.command:
            raise UsageError("--reference grades the bundled program: give no submission")
        return reference_submission(assignment)
    if args.command:
        if args.target:
            raise UsageError("give either a submission path or a command after --, not both")
        pinned = args.port is not None or assignment.port is not None
        if assignment.role == "server" and not pinned and not any("{port}" in w for w in args.command):
            raise UsageError("the command after -- has no {port}, so the server cannot be told "
                             "where to listen: write it as -- ./server {host} {port}, or pin "
                             "the port it uses with --port N (before the --)")
        return from_command(args.command, cwd=Path.cwd())
    if not args.target:
        raise UsageError("no submission: give a file, a folder, a command after --, "
                         "or --reference")
    return from_path(args.target, assignment)


def write_reports(result: GradeResult, *, junit: str | None, json_path: str | None,
                  gradescope: str | None = None, prairielearn: str | None = None,
                  classroom_path: str | None = None, show_hidden: bool = False,
                  hidden_visibility: str = "hidden") -> None:
    """Write the report files asked for (JUnit, JSON, Gradescope, PrairieLearn, GitHub
    Classroom; atomically: temp file, then rename; mode 0644).

    Every file is student-facing: hidden probes appear as stand-ins
    (:func:`grader.report.visibility.student_view`) unless ``show_hidden``
    (the teacher's view; Gradescope then marks them with ``hidden_visibility``).
    Raises UsageError naming the path when a file cannot be written.
    """
    from grader.report import classroom, jsonreport
    from grader.report import gradescope as gradescope_report
    from grader.report import junit as junit_report
    from grader.report import prairielearn as prairielearn_report
    from grader.report.files import write_atomic
    from grader.report.visibility import student_view

    shown = result if show_hidden else student_view(result)
    files: list[tuple[str, Callable[[], str]]] = []
    if junit:
        files.append((junit, lambda: junit_report.render([shown])))
    if json_path:
        files.append((json_path, lambda: jsonreport.render(shown)))
    if gradescope:
        files.append((gradescope, lambda: gradescope_report.render(
            result, reveal_hidden=show_hidden, hidden_visibility=hidden_visibility)))
    if prairielearn:
        files.append((prairielearn, lambda: prairielearn_report.render(result)))
    if classroom_path:
        files.append((classroom_path, lambda: classroom.render(shown)))
    for path, render in files:
        try:
            write_atomic(Path(path), render())
        except OSError as exc:
            raise UsageError(f"cannot write report {path}: {exc}") from None


def check_report_paths(*paths: str | None) -> None:
    """Fail early (UsageError, one line) when a report file could not be written.

    Checked before grading, so nobody waits for a run whose report is lost.
    """
    for text in paths:
        if not text:
            continue
        path = Path(text)
        if path.is_dir():
            raise UsageError(f"cannot write report {text}: it is a folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write report {text}: {exc}") from None
        if not os.access(path.parent, os.W_OK):
            raise UsageError(f"cannot write report {text}: its folder is not writable")


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade check``: grade one submission, print the report, write files.

    On a terminal each probe's line is printed as it finishes, then the rest
    of the report; elsewhere the report is printed once, at the end.
    """
    from grader.report import console as console_report
    from grader.report.visibility import Redactor, student_view

    config = resolve(args, load(args.assignment))
    submission = _submission(args, config.assignment)
    check_report_paths(args.junit, args.json, args.gradescope, args.prairielearn, args.classroom)
    launcher = make_launcher(config)
    try:
        live: console_report.LiveLines | None = None
        runner = Runner(config.assignment, submission, TrackedLauncher(launcher), config.options,
                        on_verdict=lambda verdict: live(verdict) if live else None)
        if console.is_terminal:
            hidden = [] if args.show_hidden else [c.id for c in runner.selected() if c.hidden]
            redactor = Redactor(config.assignment.id, hidden)
            live = console_report.LiveLines(console, redactor.verdict, verbose=args.verbose)
            console_report.title(config.assignment.id, config.assignment.title, console)
            console.print()
        result = _grade_interruptibly(runner)
    finally:
        launcher.close()
    shown = result if args.show_hidden else student_view(result)
    console_report.render(shown, console, verbose=args.verbose, live=live is not None)
    write_reports(result, junit=args.junit, json_path=args.json, gradescope=args.gradescope,
                  prairielearn=args.prairielearn, classroom_path=args.classroom,
                  show_hidden=args.show_hidden, hidden_visibility=args.hidden_visibility)
    if args.github:
        _report_to_github(shown)
    return EXIT[result.status]


def _report_to_github(result: GradeResult) -> None:
    """``--github``: the job summary and step outputs into the files GitHub Actions names
    ($GITHUB_STEP_SUMMARY, $GITHUB_OUTPUT; skipped when unset), annotations on stdout.

    Raises UsageError when a named file cannot be appended to.
    """
    from grader.report import github

    summary, output = os.environ.get("GITHUB_STEP_SUMMARY"), os.environ.get("GITHUB_OUTPUT")
    try:
        lines = github.write(result, summary_path=summary, output_path=output)
    except OSError as exc:
        raise UsageError(f"--github: cannot append to {exc.filename}: {exc.strerror}") from None
    sys.stdout.flush()
    for line in lines:
        print(line, flush=True)


def _grade_interruptibly(runner: Runner) -> GradeResult:
    """Run ``runner`` in a worker thread; Ctrl-C, SIGTERM or SIGHUP stop its programs.

    The main thread only waits, so a signal is handled at once: every program
    started is stopped and further starts fail, then the interrupt propagates
    (the caller's ``finally`` releases the launcher's containers and networks).
    """
    tracked = runner.launcher
    assert isinstance(tracked, TrackedLauncher)
    box: dict[str, GradeResult | BaseException] = {}

    def work() -> None:
        try:
            box["result"] = runner.run()
        except BaseException as exc:  # handed to the main thread
            box["result"] = exc

    worker = threading.Thread(target=work, name="grading", daemon=True)
    with interrupts.handled():
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.25)
        except KeyboardInterrupt:
            tracked.abort()
            worker.join(ABORT_GRACE)  # lanes wind down once their programs are gone
            tracked.abort()
            raise
    tracked.release()  # nothing the grading started outlives it
    outcome = box["result"]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade list [ASSIGNMENT]``: assignments, or one assignment's probes."""
    if args.assignment is None:
        assignments = [load(str(path)) for path in bundled()]
        width = max((len(a.id) for a in assignments), default=0)
        for assignment in assignments:
            lab = f"lab {assignment.lab:>2}" if assignment.lab is not None else "      "
            console.print(f"{assignment.id:<{width}}  {lab}  {assignment.role:<6}  {assignment.title}",
                          markup=False, highlight=False)
        return 0
    assignment = load(args.assignment)
    console.print(f"{assignment.id} — {assignment.title} ({assignment.role}; "
                  f"started as: {assignment.command})", markup=False, highlight=False)
    for config in assignment.probes:
        hidden = " (hidden from students)" if config.hidden else ""
        console.print(f"  {config.id:<50} {config.tier.value:<13} weight {config.weight:g}  "
                      f"{config.summary}{hidden}", markup=False, highlight=False)
        for param in config.spec.params:
            value = config.params[param.name]
            changed = "" if value == param.default else f" (default {param.show(param.default)})"
            console.print(f"      {param.name} = {param.show(value)}{changed}: {param.meaning}",
                          markup=False, highlight=False)
    return 0


def cmd_reference(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade reference ASSIGNMENT``: run the bundled reference in the foreground.

    The program runs in a session of its own; Ctrl-C, SIGTERM and SIGHUP stop
    it (and anything it spawned) before sockgrade exits, and it is killed if
    sockgrade itself is killed (SIGKILL).  Exit status: the
    program's own, 0 after Ctrl-C, 143/129 after SIGTERM/SIGHUP.
    """
    from grader.submission import argv

    assignment = load(args.assignment)
    submission = reference_submission(assignment)
    values = {"host": args.host, "port": str(args.port), "message": " ".join(args.words),
              "file": " ".join(args.words), "username": " ".join(args.words),
              "root": " ".join(args.words) or str(Path.cwd()), "workdir": str(Path.cwd())}
    credentials = None
    if "{cert}" in assignment.command or "{key}" in assignment.command:  # a TLS lab (§12)
        credentials = tls.make_credentials(Path(tempfile.mkdtemp(prefix="sockgrade-tls-")))
        values.update(cert=str(credentials.cert), key=str(credentials.key))
        console.print(f"TLS: a certificate for {' and '.join(tls.HOSTS)} issued by a throw-away "
                      f"CA: {credentials.folder / 'ca.pem'} (removed on exit)", markup=False,
                      highlight=False, style="dim")
    words = argv(submission, assignment, python=sys.executable,
                 entry_path=str(REFERENCE_DIR / str(submission.entry)),
                 values=values, extra=assignment.extra)
    console.print(f"running: {' '.join(words)}  (Ctrl-C to stop)", markup=False,
                  highlight=False, style="dim")
    with interrupts.handled():
        try:
            proc = subprocess.Popen(list(words), start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as exc:
            if credentials is not None:
                shutil.rmtree(credentials.folder, ignore_errors=True)
            raise UsageError(f"cannot start {words[0]}: {exc}") from None
        try:
            return proc.wait()
        except KeyboardInterrupt as exc:
            _end_group(proc)
            return 0 if not isinstance(exc, interrupts.Terminated) else interrupts.exit_status(exc)
        finally:
            _end_group(proc)
            if credentials is not None:  # the PEM files go with the program
                shutil.rmtree(credentials.folder, ignore_errors=True)


def _die_with_parent() -> None:
    """In the child between fork and exec: SIGKILL it when sockgrade dies, even by SIGKILL
    (``prctl(PR_SET_PDEATHSIG)``, Linux), so no reference server outlives its command."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the program's process group, SIGKILL it after 2 s; returns once it is gone."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # what it spawned, if the leader went first
        return


def cmd_cleanup(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade cleanup [--all]``: remove what graders that died left behind.

    Containers and networks labelled ``sockgrade``, their iptables chains,
    host staging folders and local programs' cgroups (with the processes
    still in them).  ``--all`` also removes those of runs still in progress.
    Exit status 2 when something could not be removed (one line each).
    """
    from dataclasses import replace

    from grader.errors import GraderError
    from grader.launch import cgroup, cleanup
    from grader.launch.docker import connect_engine

    problems: list[str] = []
    try:
        client = connect_engine()
    except GraderError as exc:
        client = None
        problems.append(str(exc))
    try:
        result = cleanup.sweep(client, everything=args.all)
    finally:
        if client is not None:
            client.close()
    result = replace(result, groups=cgroup.sweep(everything=args.all))
    console.print(f"sockgrade cleanup: {result.describe()}", markup=False, highlight=False)
    problems.extend(result.problems)
    for problem in problems:
        console.print(f"  could not clean: {problem}", markup=False, highlight=False)
    return 2 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sockgrade", description="Black-box grader for socket-programming assignments.")
    parser.add_argument("--version", action="version", version=f"sockgrade {__version__}")
    sub = parser.add_subparsers(dest="command_name", required=True)

    p_list = sub.add_parser("list", help="list assignments, or the probes of one")
    p_list.add_argument("assignment", nargs="?", help="assignment id or TOML file")

    p_check = sub.add_parser("check", help="grade one submission")
    p_check.add_argument("assignment", help="assignment id or TOML file")
    p_check.add_argument("target", nargs="?", help="submission file or folder")
    p_check.add_argument("--reference", action="store_true",
                         help="grade the bundled reference program")
    p_check.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    p_check.add_argument("--json", metavar="FILE", help="write a JSON report")
    p_check.add_argument("--gradescope", metavar="FILE",
                         help="write Gradescope's autograder results.json")
    p_check.add_argument("--prairielearn", metavar="FILE",
                         help="write PrairieLearn's external-grader results.json")
    p_check.add_argument("--classroom", metavar="FILE",
                         help="write GitHub Classroom's runner result (JSON)")
    p_check.add_argument("--github", action="store_true",
                         help="in GitHub Actions: job summary, annotations, step outputs")
    p_check.add_argument("--show-hidden", action="store_true",
                         help="teacher's view: show hidden probes in full (Gradescope still "
                              "marks them with --hidden-visibility)")
    p_check.add_argument("--hidden-visibility", default="hidden",
                         choices=("hidden", "after_due_date", "after_published", "visible"),
                         help="Gradescope visibility of hidden probes' tests (default: hidden)")
    p_check.add_argument("-v", "--verbose", action="store_true", help="show every transcript")
    add_grading_options(p_check)

    p_ref = sub.add_parser("reference", help="run the bundled reference program")
    p_ref.add_argument("assignment", help="assignment id or TOML file")
    p_ref.add_argument("--host", default="127.0.0.1")
    p_ref.add_argument("--port", type=int, default=5000)
    p_ref.add_argument("words", nargs="*", help="a client's message (or file to upload, or folder to serve)")

    p_clean = sub.add_parser("cleanup", help="remove containers, networks and firewall rules "
                                               "left by interrupted Docker runs")
    p_clean.add_argument("--all", action="store_true",
                         help="also remove those of runs still in progress")

    from grader.classroom.commands import add_autograder_commands, add_batch_commands
    from grader.cli_bundle import add_bundle_commands

    add_batch_commands(sub)
    add_autograder_commands(sub)
    add_bundle_commands(sub)
    return parser


#: sockgrade's own options: one written after ``--`` goes to the program, which is noted.
_OPTIONS = frozenset({"--port", "--seed", "--python", "--select", "--exclude", "--extra",
                      "--runner", "--image", "--cpus", "--memory", "--pids", "--junit", "--json",
                      "--classroom", "--github", "--gradescope", "--prairielearn",
                      "--show-hidden", "--hidden-visibility", "--verbose", "-v", "--reference"})

COMMANDS = {"check": cmd_check, "list": cmd_list, "reference": cmd_reference,
            "cleanup": cmd_cleanup}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in args_list:
        at = args_list.index("--")
        args_list, command = args_list[:at], args_list[at + 1 :]
    parser = build_parser()
    args = parser.parse_args(args_list)
    args.command = command
    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for word in command:
        if word.split("=", 1)[0] in _OPTIONS:
            err.print(f"sockgrade: note: {word.split('=', 1)[0]} comes after --, so it is passed "
                      f"to the program, not to sockgrade (put sockgrade's options before --)",
                      markup=False)
    from grader.classroom.commands import COMMANDS as CLASSROOM_COMMANDS
    from grader.cli_bundle import COMMANDS as BUNDLE_COMMANDS

    handler = {**CLASSROOM_COMMANDS, **BUNDLE_COMMANDS, **COMMANDS}[args.command_name]
    try:
        return handler(args, console)
    except SockgradeError as exc:
        err.print(f"sockgrade: {exc.kind}: {exc}", markup=False)
        return 2
    except KeyboardInterrupt as exc:
        err.print(f"sockgrade: interrupted ({exc})" if isinstance(exc, interrupts.Terminated)
                  else "sockgrade: interrupted", markup=False)
        return interrupts.exit_status(exc)
