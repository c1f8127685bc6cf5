"""Commands that print what sockgrade ships: ``catalogue`` and ``assignment show``.

Theory of operation: every requirement cites the lab catalogue
(``docs/labs.md §N``) and every bundled assignment is a file inside the
package (:mod:`grader.bundle`).  A wheel user has no source tree, so these
commands print the shipped text: ``sockgrade catalogue 7`` the section a
requirement cites, ``sockgrade assignment show chat-server > my.toml`` an
assignment file for a teacher to edit and pass back as a path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rich.console import Console

from grader.assignment import load, resolve
from grader.bundle import CATALOGUE, catalogue_section, catalogue_text
from grader.errors import UsageError


def cmd_catalogue(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade catalogue [KEY]``: the lab catalogue, or one section of it.

    KEY is ``§N`` or ``N``, a bundled assignment id (its lab's section) or an
    unnumbered section's heading.  ``--path`` prints where the file is.
    UsageError (exit 2) when no section matches.
    """
    if args.path:
        console.print(str(CATALOGUE), markup=False, highlight=False)
        return 0
    if args.key is None:
        sys.stdout.write(catalogue_text())
        return 0
    key = args.key
    try:
        lab = load(key).lab if not key.strip().lstrip("§").isdigit() else None
    except UsageError:
        lab = None  # not an assignment: a section number, id or heading
    sys.stdout.write(catalogue_section(str(lab) if lab is not None else key))
    return 0


def cmd_assignment(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade assignment show ID`` prints the assignment file (TOML) as shipped;
    ``sockgrade assignment path ID`` prints where it is.  UsageError for an unknown id."""
    path = resolve(args.assignment)
    if args.action == "path":
        console.print(str(path), markup=False, highlight=False)
    else:
        sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


def add_bundle_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``catalogue`` and ``assignment`` to the subcommand parser ``sub``."""
    p_cat = sub.add_parser("catalogue", help="print the lab catalogue, or one section (§N, lab id)")
    p_cat.add_argument("key", nargs="?", help="section: §N, N, an assignment id or a heading")
    p_cat.add_argument("--path", action="store_true", help="print the catalogue file's location")

    p_asg = sub.add_parser("assignment", help="print a bundled assignment file (to copy and edit)")
    p_asg.add_argument("action", choices=("show", "path"),
                       help="show: print the TOML; path: print where the file is")
    p_asg.add_argument("assignment", help="assignment id (sockgrade list)")


#: Subcommand name -> handler.
COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "catalogue": cmd_catalogue, "assignment": cmd_assignment,
}
