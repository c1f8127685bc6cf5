"""The ``sockgrade`` command line.

Theory of operation: each subcommand parses its arguments, resolves the
assignment and submission (usage errors become one line and exit status 2),
runs the grader and writes the requested reports.  Exit status: 0 when every
required probe passed, 1 when one failed, 2 for a usage or grader error.
Settings resolve in one order: probe default < assignment file < environment
(``SOCKGRADE_SEED``) < command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from grader import __version__
from grader.assignment import REFERENCE_DIR, Assignment, bundled, load
from grader.errors import SockgradeError, UsageError
from grader.launch.base import Launcher
from grader.runner import GradeResult, Runner, RunOptions
from grader.submission import Submission, from_command, from_path

#: Seed used when neither --seed nor SOCKGRADE_SEED is given: every run of a
#: submission sees the same payloads and split points unless asked otherwise.
DEFAULT_SEED = 20261123
EXIT = {"passed": 0, "failed": 1, "error": 2}


def _seed(value: str | None) -> int:
    text = value if value is not None else os.environ.get("SOCKGRADE_SEED")
    if text is None:
        return DEFAULT_SEED
    try:
        return int(text)
    except ValueError:
        where = "--seed" if value is not None else "SOCKGRADE_SEED"
        raise UsageError(f"{where}: expected an integer, got {text!r}") from None


def reference_submission(assignment: Assignment) -> Submission:
    """The bundled reference program of ``assignment`` as a submission."""
    if assignment.reference is None:
        raise UsageError(f"assignment {assignment.id} names no reference program")
    path = REFERENCE_DIR / assignment.reference
    if not path.is_file():
        raise UsageError(f"reference program not found: {path}")
    return Submission(label=f"reference/{assignment.reference}", folder=REFERENCE_DIR,
                      entry=assignment.reference, command=None)


def make_launcher(args: argparse.Namespace, assignment: Assignment) -> Launcher:
    """The launcher chosen by ``--runner`` (local by default)."""
    if getattr(args, "runner", "local") == "docker":
        from grader.launch.docker import DockerLauncher

        return DockerLauncher.from_args(args, assignment)
    from grader.launch.local import LocalLauncher

    return LocalLauncher()


def _submission(args: argparse.Namespace, assignment: Assignment) -> Submission:
    if args.reference:
        if args.target or args.command:
            raise UsageError("--reference grades the bundled program: give no submission")
        return reference_submission(assignment)
    if args.command:
        if args.target:
            raise UsageError("give either a submission path or a command after --, not both")
        return from_command(args.command, cwd=Path.cwd())
    if not args.target:
        raise UsageError("no submission: give a file, a folder, a command after --, "
                         "or --reference")
    return from_path(args.target, assignment)


def run_options(args: argparse.Namespace) -> RunOptions:
    """RunOptions from the shared check/batch arguments."""
    return RunOptions(
        seed=_seed(args.seed),
        port=args.port,
        python=args.python or sys.executable,
        select=tuple(args.select or ()),
        exclude=tuple(args.exclude or ()),
        extra=tuple(args.extra) if args.extra is not None else None,
    )


def write_reports(result: GradeResult, *, junit: str | None, json_path: str | None) -> None:
    """Write the JUnit and JSON files asked for (atomically: temp file, then rename)."""
    from grader.report import jsonreport
    from grader.report import junit as junit_report
    from grader.report.files import write_atomic

    if junit:
        write_atomic(Path(junit), junit_report.render([result]))
    if json_path:
        write_atomic(Path(json_path), jsonreport.render(result))


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade check``: grade one submission, print the report, write files."""
    from grader.report import console as console_report

    assignment = load(args.assignment)
    submission = _submission(args, assignment)
    options = run_options(args)
    launcher = make_launcher(args, assignment)
    try:
        result = Runner(assignment, submission, launcher, options).run()
    finally:
        launcher.close()
    console_report.render(result, console, verbose=args.verbose)
    write_reports(result, junit=args.junit, json_path=args.json)
    return EXIT[result.status]


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade list [ASSIGNMENT]``: assignments, or one assignment's probes."""
    if args.assignment is None:
        for path in bundled():
            assignment = load(str(path))
            lab = f"lab {assignment.lab:>2}" if assignment.lab is not None else "      "
            console.print(f"{assignment.id:<28} {lab}  {assignment.role:<6}  {assignment.title}",
                          markup=False, highlight=False)
        return 0
    assignment = load(args.assignment)
    console.print(f"{assignment.id} — {assignment.title} ({assignment.role}; "
                  f"started as: {assignment.command})", markup=False, highlight=False)
    for config in assignment.probes:
        console.print(f"  {config.id:<50} {config.tier.value:<13} weight {config.weight:g}  "
                      f"{config.spec.summary}", markup=False, highlight=False)
    return 0


def cmd_reference(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade reference ASSIGNMENT``: run the bundled reference in the foreground."""
    import subprocess

    assignment = load(args.assignment)
    submission = reference_submission(assignment)
    from grader.submission import argv

    words = argv(submission, assignment, python=sys.executable,
                 entry_path=str(REFERENCE_DIR / str(submission.entry)),
                 values={"host": args.host, "port": str(args.port),
                         "message": " ".join(args.words)},
                 extra=[w.replace("{workdir}", str(Path.cwd())) for w in assignment.extra])
    console.print(f"running: {' '.join(words)}  (Ctrl-C to stop)", markup=False,
                  highlight=False, style="dim")
    try:
        return subprocess.call(list(words))
    except KeyboardInterrupt:
        return 0


def cmd_cleanup(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade cleanup [--all]``: remove what graders that died left behind.

    Containers and networks labelled ``sockgrade``, their iptables chains,
    host staging folders and local programs' cgroups (with the processes
    still in them).  ``--all`` also removes those of runs still in progress.
    Exit status 2 when something could not be removed (one line each).
    """
    from dataclasses import replace

    from grader.errors import GraderError
    from grader.launch import cgroup, leftovers
    from grader.launch.docker import connect_engine

    problems: list[str] = []
    try:
        client = connect_engine()
    except GraderError as exc:
        client = None
        problems.append(str(exc))
    try:
        result = leftovers.sweep(client, everything=args.all)
    finally:
        if client is not None:
            client.close()
    result = replace(result, groups=cgroup.sweep(everything=args.all))
    console.print(f"sockgrade cleanup: {result.describe()}", markup=False, highlight=False)
    problems.extend(result.problems)
    for problem in problems:
        console.print(f"  could not clean: {problem}", markup=False, highlight=False)
    return 2 if problems else 0


def _add_grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="pin the server's port (hard-coded submissions)")
    parser.add_argument("--seed", help="seed for payloads and split points (replays a run)")
    parser.add_argument("--python", help="interpreter for 'python' in the start command")
    parser.add_argument("--select", action="append", metavar="GLOB",
                        help="run only probes whose id matches (repeatable)")
    parser.add_argument("--exclude", action="append", metavar="GLOB",
                        help="skip probes whose id matches (repeatable)")
    parser.add_argument("--extra", nargs="*", metavar="ARG",
                        help="extra arguments for the program (replace the assignment's)")
    parser.add_argument("--runner", choices=("local", "docker"), default="local",
                        help="run the submission as a local process (default) or in Docker")
    parser.add_argument("--image", help="Docker image for --runner docker")
    parser.add_argument("--cpus", type=float, help="Docker CPU limit (cores)")
    parser.add_argument("--memory", type=int, metavar="MB", help="Docker memory limit (MiB)")
    parser.add_argument("--pids", type=int, help="Docker process-count limit")


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
    p_check.add_argument("-v", "--verbose", action="store_true", help="show every transcript")
    _add_grading_options(p_check)

    p_ref = sub.add_parser("reference", help="run the bundled reference program")
    p_ref.add_argument("assignment", help="assignment id or TOML file")
    p_ref.add_argument("--host", default="127.0.0.1")
    p_ref.add_argument("--port", type=int, default=5000)
    p_ref.add_argument("words", nargs="*", help="a client's message")

    p_clean = sub.add_parser("cleanup", help="remove containers, networks and firewall rules "
                                               "left by interrupted Docker runs")
    p_clean.add_argument("--all", action="store_true",
                         help="also remove those of runs still in progress")

    from grader.batch import add_batch_commands

    add_batch_commands(sub)
    return parser


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
    from grader.batch import COMMANDS as BATCH_COMMANDS

    handler = {**BATCH_COMMANDS, **COMMANDS}[args.command_name]
    try:
        return handler(args, console)
    except SockgradeError as exc:
        err.print(f"sockgrade: {exc.kind}: {exc}", markup=False)
        return 2
    except KeyboardInterrupt:
        err.print("sockgrade: interrupted", markup=False)
        return 130
