"""The classroom commands' command lines: ``batch``, ``merge``, ``gradescope``, ``prairielearn``.

Theory of operation: ``sockgrade`` builds its whole parser at every start, so the
arguments of these commands are declared here, apart from the code that runs them
(:mod:`grader.classroom.batch`, :mod:`grader.classroom.autograder`), which is imported
only when one of them runs (:data:`COMMANDS`).  A student's ``sockgrade check`` thus
does not load the batch's progress display, export readers and YAML: about a third of
the command line's import time.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from rich.console import Console

from grader.settings import add_grading_options

#: Default output folder of ``sockgrade batch`` and ``sockgrade merge``.
DEFAULT_OUT = "sockgrade-out"

Handler = Callable[[argparse.Namespace, Console], int]


def _later(module: str, name: str) -> Handler:
    """A handler that imports ``module`` and runs its ``name`` only when called."""

    def run(args: argparse.Namespace, console: Console) -> int:
        handler: Handler = getattr(importlib.import_module(module), name)
        return handler(args, console)

    return run


#: Subcommand name -> handler, each importing its module when it runs.
COMMANDS: dict[str, Handler] = {
    "batch": _later("grader.classroom.batch", "cmd_batch"),
    "merge": _later("grader.classroom.batch", "cmd_merge"),
    "gradescope": _later("grader.classroom.autograder", "cmd_gradescope"),
    "prairielearn": _later("grader.classroom.autograder", "cmd_prairielearn"),
}


def add_batch_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``batch`` and ``merge`` on the ``sockgrade`` subcommand parser ``sub``."""
    p_batch = sub.add_parser(
        "batch", help="grade a folder of submissions (one per student)",
        description="Grade every entry of FOLDER (a sub-folder, a file or a .zip per student; "
                    "GitHub Classroom, Moodle and Gradescope exports are recognised).")
    p_batch.add_argument("assignment", help="assignment id or TOML file")
    p_batch.add_argument("folder", help="folder of submissions")
    p_batch.add_argument("-j", "--jobs", type=int,
                         help="submissions graded in parallel (default: the number of cores)")
    p_batch.add_argument("--out", default=DEFAULT_OUT,
                         help=f"output folder (default: ./{DEFAULT_OUT})")
    p_batch.add_argument("--resume", action="store_true",
                         help="grade only submissions without a complete report in --out")
    p_batch.add_argument("--shard", metavar="I/N",
                         help="grade only slice I of N (join the slices with 'sockgrade merge')")
    p_batch.add_argument("--wide", action="store_true",
                         help="gradebook.csv gets a column per probe (its outcome)")
    add_grading_options(p_batch)

    p_merge = sub.add_parser("merge", help="join 'batch --shard' outputs into one gradebook")
    p_merge.add_argument("inputs", nargs="+", metavar="OUT",
                         help="output folders (or batch.shard-I-of-N.json files) of the shards")
    p_merge.add_argument("--out", default=DEFAULT_OUT,
                         help=f"folder for the merged files (default: ./{DEFAULT_OUT})")
    p_merge.add_argument("--wide", action="store_true",
                         help="gradebook.csv gets a column per probe (its outcome)")


def _bundle_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *,
                    help: str, out: str, out_help: str) -> argparse.ArgumentParser:
    """A subcommand that bundles sockgrade for an autograder: ASSIGNMENT, ``--out`` and
    ``--wheel``, the arguments ``gradescope`` and ``prairielearn`` share."""
    parser = sub.add_parser(name, help=help)
    parser.add_argument("assignment", help="assignment id or TOML file")
    parser.add_argument("--out", default=out, help=out_help)
    parser.add_argument("--wheel", help="a sockgrade wheel to bundle (default: build one from "
                                        "the source tree)")
    return parser


def add_autograder_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``gradescope`` and ``prairielearn`` on the subcommand parser ``sub``."""
    p_gs = _bundle_command(sub, "gradescope", help="build a Gradescope autograder zip",
                           out="autograder.zip", out_help="zip to write")
    p_gs.add_argument("--hidden-visibility", default="hidden",
                      choices=("hidden", "after_due_date", "after_published"),
                      help="Gradescope visibility of hidden probes (default: hidden)")
    p_pl = _bundle_command(sub, "prairielearn",
                           help="build a PrairieLearn external-grader folder",
                           out="sockgrade-prairielearn", out_help="folder to write")
    p_pl.add_argument("--image", default="python:3.11-slim",
                      help="grading image for the README and Dockerfile")
