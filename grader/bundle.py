"""What sockgrade ships besides its code: assignments, reference programs, the lab catalogue.

Theory of operation: the files live inside the package, under ``grader/data/``
(``assignments/*.toml``, ``reference/*.py`` and ``labs.md``), and are found
with :func:`importlib.resources.files`, so an editable install, a wheel and
``pip install git+URL`` all read the same files.  In the source tree,
``grader/data/labs.md`` is a symbolic link to ``docs/labs.md``, the catalogue
every requirement cites (``docs/labs.md §N``); building the wheel copies the
text in.  This module is the one place that knows these locations (the
reference programs are started as files, so the package must be installed
as files, as pip does, not imported from a zip).

The catalogue is Markdown: one ``## §N <id> — <title>`` section per lab, plus
unnumbered sections (``## Starting programs``).  :func:`catalogue_section`
picks one out for ``sockgrade catalogue``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from grader.errors import UsageError


def _data_dir() -> Path:
    """The package's ``data`` folder as a file-system path (installed as files by pip)."""
    root = resources.files("grader") / "data"
    if not isinstance(root, Path):  # e.g. zipimport: reference programs could not be started
        raise ImportError(f"sockgrade's data files are not plain files ({root!r}): install the "
                          "package with pip, not as a zip")
    return root


#: Folder of the package data (``grader/data``).
DATA_DIR = _data_dir()
#: Folder of the bundled assignment files (``<id>.toml``).
ASSIGNMENTS_DIR = DATA_DIR / "assignments"
#: Folder of the bundled reference programs.
REFERENCE_DIR = DATA_DIR / "reference"
#: The lab catalogue (in the source tree: a link to ``docs/labs.md``).
CATALOGUE = DATA_DIR / "labs.md"

_HEADING = re.compile(r"^## (?P<title>.+?)[ \t]*$", re.M)
_NUMBERED = re.compile(r"§(?P<number>\d+) (?P<id>\S+)")


def catalogue_text() -> str:
    """The whole lab catalogue (Markdown, UTF-8)."""
    return CATALOGUE.read_text(encoding="utf-8")


def catalogue_section(key: str, text: str | None = None) -> str:
    """One section of the lab catalogue, heading included, without trailing blank lines.

    ``key`` is ``§N`` or ``N`` (lab number), a lab id (``tcp-echo-server``;
    the id in the section's heading) or an unnumbered section's heading
    (``Starting programs``; case-insensitive).  ``text`` defaults to the
    shipped catalogue.  Raises :class:`UsageError` naming the sections there
    are when none matches.
    """
    text = catalogue_text() if text is None else text
    wanted = key.strip().removeprefix("§").casefold()
    headings = list(_HEADING.finditer(text))
    names: list[str] = []
    for index, match in enumerate(headings):
        title = match["title"]
        numbered = _NUMBERED.match(title)
        keys = {title.casefold()}
        if numbered:
            keys |= {numbered["number"], numbered["id"].casefold()}
            names.append(f"§{numbered['number']} {numbered['id']}")
        else:
            names.append(title)
        if wanted in keys:
            end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
            return text[match.start():end].rstrip() + "\n"
    raise UsageError(f"the lab catalogue has no section {key!r} (sections: {', '.join(names)})")
