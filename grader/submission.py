"""Submissions: what the student hands in, and the command line that starts it.

Theory of operation: a submission is a single file, a folder (its entry
point named by the assignment), or any command (``-- ./server {host}
{port}``), so programs in any language can be graded.  A file or folder
submission runs with its own folder as working directory; the assignment's
command template is split into words and each placeholder is substituted as
a whole argv word (no shell, so a message with spaces stays one word).
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import UsageError

if TYPE_CHECKING:
    from grader.assignment import Assignment


@dataclass(frozen=True, kw_only=True)
class Submission:
    """A resolved submission.

    ``folder`` is the working directory; ``entry`` is the entry file relative
    to it (None for a command); ``command`` is the user's own command
    template (None to use the assignment's); ``label`` names it in reports.
    """

    label: str
    folder: Path
    entry: str | None
    command: tuple[str, ...] | None


def from_path(target: str, assignment: Assignment) -> Submission:
    """Resolve a file or folder submission.

    A folder's entry point is the assignment's ``entry`` name; failing that,
    its only ``.py`` file.  Raises :class:`UsageError` when nothing fits.
    """
    path = Path(target)
    if not path.exists():
        raise UsageError(f"submission not found: {target}")
    path = path.resolve()
    if path.is_file():
        return Submission(label=path.name, folder=path.parent, entry=path.name, command=None)
    entry = path / assignment.entry
    if entry.is_file():
        return Submission(label=path.name, folder=path, entry=assignment.entry, command=None)
    candidates = sorted(p.name for p in path.glob("*.py"))
    if len(candidates) == 1:
        return Submission(label=path.name, folder=path, entry=candidates[0], command=None)
    found = ", ".join(candidates) if candidates else "no .py files"
    raise UsageError(
        f"{target}: no entry point '{assignment.entry}' in the folder ({found}); "
        f"name the file to grade, or pass a command after --"
    )


def from_command(words: Sequence[str], *, cwd: Path) -> Submission:
    """A command submission: ``words`` with ``{host}``/``{port}``/... placeholders."""
    if not words:
        raise UsageError("empty command after --")
    program = words[0]
    if "{" not in program and shutil.which(program, path=None) is None and not (
        cwd / program
    ).is_file():
        raise UsageError(f"command not found: {program}")
    return Submission(label=" ".join(words), folder=cwd.resolve(), entry=None, command=tuple(words))


def argv(
    submission: Submission,
    assignment: Assignment,
    *,
    python: str,
    entry_path: str | None,
    values: Mapping[str, str],
    extra: Sequence[str] = (),
) -> tuple[str, ...]:
    """The argv that starts ``submission``.

    ``python`` replaces a leading ``python`` word of the assignment's
    template; ``entry_path`` replaces ``{entry}``; ``values`` fills
    ``{host}``, ``{port}``, ``{message}`` and friends; a word ``{extra}``
    expands to ``extra``.  The ``extra`` words get the same ``values``
    (``{scratch}``, ...) plus ``{workdir}`` (default: the submission's
    folder); a placeholder with no value stays as written.  This is the one
    place placeholders are substituted.  Raises :class:`UsageError` for an
    unknown placeholder in the command.
    """
    if submission.command is not None:
        words = list(submission.command)
    else:
        words = shlex.split(assignment.command)
        if words and words[0] in ("python", "python3"):
            words[0] = python
    table = dict(values)
    if entry_path is not None:
        table["entry"] = entry_path
    fill = {"workdir": str(submission.folder), **values}
    extra = [_fill(word, fill) for word in extra]
    out: list[str] = []
    for word in words:
        if word == "{extra}":
            out.extend(extra)
            continue
        try:
            out.append(word.format_map(table))
        except KeyError as exc:
            raise UsageError(f"unknown placeholder {{{exc.args[0]}}} in command {word!r}") from None
        except (ValueError, IndexError):
            out.append(word)
    if submission.command is None and "{extra}" not in words:
        out.extend(extra)
    return tuple(out)


def _fill(word: str, values: Mapping[str, str]) -> str:
    """``word`` with each ``{name}`` of ``values`` replaced; other braces left alone."""
    for name, value in values.items():
        word = word.replace("{" + name + "}", value)
    return word
