"""Recognising a class's downloaded submissions: one entry per student.

Theory of operation: every entry of the folder a teacher downloaded is one
submission (a sub-folder, a single file or a ``.zip``), and the layout of
the usual exports tells who handed it in:

* **GitHub Classroom** (``gh classroom clone student-repos`` or the Classroom
  Assistant): a git clone per student named ``<assignment>-<username>``,
  inside ``<assignment>-submissions/``.  An entry is a Classroom repository
  when it holds ``.git``, or when the export folder is ``<assignment>-submissions``
  and the entry's name starts with ``<assignment>-`` (downloaded without git);
  the username is the name without that prefix, else without the longest
  ``-``-ended prefix all such repositories share.
* **Moodle** ("Download all submissions"): ``Full Name_12345_assignsubmission_file_``
  per student (12345 is the participant id), or, without "download in
  folders", flat files ``Full Name_12345_assignsubmission_file_server.py``;
  flat files of one participant form one submission, under their own names.
* **Gradescope** ("Export Submissions"): ``submission_<id>/`` folders next to
  ``submission_metadata.yml``, which maps each folder to its submitters
  (``:name:``, ``:sid:``, ``:email:``); the student id is the ``:sid:``, else
  the e-mail, else the folder name.
  A folder holding only the export folder (``assignment_<id>_export/``) is
  read as that export.
* **Plain**: a folder, file or zip named after the student (``alice/``,
  ``bob.py``, ``carol.zip``).

Hidden entries, ``__MACOSX`` and ``submission_metadata.yml`` are not
submissions.  Student ids are unique: colliding ids (``alice/`` and
``alice.py``) fall back to the entry names.  :func:`slug` turns an id into a
safe file name for the per-student reports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: The Gradescope export's metadata file.
GRADESCOPE_METADATA = "submission_metadata.yml"
#: Folder entries that are never submissions.
IGNORED = {"__MACOSX", GRADESCOPE_METADATA, "Thumbs.db", "desktop.ini"}

_MOODLE = re.compile(
    r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_(?P<plugin>[a-z0-9]+)_(?P<rest>.*)$"
)
_GRADESCOPE = re.compile(r"^submission_(?P<id>\d+)$")
_SLUG_BAD = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One student's submission as found in the export folder.

    ``student`` is the unique id (file names and sorting); ``name`` the
    display name (the id when the export has none); ``export`` is
    "classroom", "moodle", "gradescope" or "plain"; ``kind`` is "folder",
    "file", "zip" or "files" (Moodle flat files); ``paths`` are the source
    paths (one, except for "files"); ``renames`` maps a flat Moodle file to
    its original name.
    """

    student: str
    name: str
    export: str
    kind: str
    paths: tuple[Path, ...]
    renames: Mapping[str, str]

    @property
    def source(self) -> str:
        """The entry's name in the export folder (the first file for flat Moodle files)."""
        return self.paths[0].name

    @property
    def slug(self) -> str:
        """A safe, unique file-name stem for this student's reports."""
        return slug(self.student)


def slug(student: str) -> str:
    """``student`` as a file-name stem: unsafe characters replaced, a hash added if changed.

    The result matches ``[A-Za-z0-9._@+-]+``, never starts with a dot and is
    at most 100 characters; distinct ids give distinct slugs.
    """
    safe = _SLUG_BAD.sub("_", student).lstrip(".")[:80]
    if safe != student or not safe:
        digest = hashlib.sha1(student.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        safe = f"{safe}-{digest}" if safe else digest
    return safe


def _is_git(path: Path) -> bool:
    return path.is_dir() and (path / ".git").exists()


def _zip_or(path: Path) -> str:
    if path.is_dir():
        return "folder"
    return "zip" if path.suffix.lower() == ".zip" else "file"


def _common_prefix(names: list[str]) -> str:
    """The longest prefix ending in ``-`` that every name has and none equals."""
    if len(names) < 2:
        return ""
    first = min(names)
    last = max(names)
    shared = ""
    for a, b in zip(first, last, strict=False):
        if a != b:
            break
        shared += a
    cut = shared.rfind("-")
    prefix = shared[: cut + 1] if cut >= 0 else ""
    if prefix and all(len(n) > len(prefix) for n in names):
        return prefix
    return ""


def _gradescope_people(folder: Path) -> dict[str, list[Mapping[str, Any]]]:
    """Submitters by submission folder name, from ``submission_metadata.yml`` (empty if absent).

    Gradescope writes Ruby-flavoured YAML (``:submitters:`` keys, sometimes
    ``!ruby/...`` tags); unknown tags load as plain values.
    """
    path = folder / GRADESCOPE_METADATA
    if not path.is_file():
        return {}

    class Loader(yaml.SafeLoader):  # a private copy: tag handlers stay local
        pass

    def any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        return None

    Loader.add_multi_constructor("!", any_tag)
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=Loader)
    except yaml.YAMLError:
        return {}
    out: dict[str, list[Mapping[str, Any]]] = {}
    if isinstance(data, Mapping):
        for key, record in data.items():
            if isinstance(record, Mapping):
                people = record.get(":submitters") or record.get("submitters") or []
                if isinstance(people, list):
                    out[str(key)] = [p for p in people if isinstance(p, Mapping)]
    return out


def _person(person: Mapping[str, Any], key: str) -> str:
    value = person.get(f":{key}", person.get(key))
    return "" if value is None else str(value).strip()


def unwrap(folder: Path) -> Path:
    """``folder``, or the Gradescope export inside it when that is all it holds.

    Gradescope's zip extracts to ``assignment_<id>_export/`` with the
    metadata file inside: pointing at the folder around it means the export.
    """
    visible = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in IGNORED]
    if (len(visible) == 1 and visible[0].is_dir()
            and (visible[0] / GRADESCOPE_METADATA).is_file()
            and not (folder / GRADESCOPE_METADATA).is_file()):
        return visible[0]
    return folder


def discover(folder: Path, *, exclude: Iterable[Path] = ()) -> list[Entry]:
    """Every submission in ``folder`` (see :func:`unwrap`), sorted by student id.

    ``exclude`` lists paths to leave out (the output folder when it lies
    inside ``folder``).  Raises ``OSError`` when the folder cannot be read.
    """
    skipped = {p.resolve() for p in exclude}
    folder = unwrap(folder)
    children = sorted(
        p for p in folder.iterdir()
        if not p.name.startswith(".") and p.name not in IGNORED and p.resolve() not in skipped
    )
    people = _gradescope_people(folder)
    export_prefix = ""  # gh classroom clone: <assignment>-submissions/<assignment>-<user>/
    if folder.name.endswith("-submissions") and len(folder.name) > len("-submissions"):
        export_prefix = folder.name[: -len("submissions")]
    entries: list[Entry] = []
    moodle_flat: dict[str, list[Path]] = {}
    moodle_names: dict[str, str] = {}
    classroom: list[Path] = []
    for path in children:
        match = _MOODLE.match(path.name)
        if match and not path.is_dir() and match["rest"]:
            moodle_flat.setdefault(match["id"], []).append(path)
            moodle_names[match["id"]] = match["name"]
            continue
        if match:
            entries.append(Entry(student=match["id"], name=match["name"], export="moodle",
                                 kind=_zip_or(path), paths=(path,), renames={}))
            continue
        gradescope = _GRADESCOPE.match(path.name)
        if gradescope and path.is_dir():
            submitters = people.get(path.name, [])
            ids = [_person(p, "sid") or _person(p, "email") for p in submitters]
            names = [_person(p, "name") for p in submitters]
            student = "+".join(i for i in ids if i) or path.name
            entries.append(Entry(student=student, name=", ".join(n for n in names if n) or student,
                                 export="gradescope", kind="folder", paths=(path,), renames={}))
            continue
        if _is_git(path) or (export_prefix and path.is_dir()
                             and path.name.startswith(export_prefix)
                             and len(path.name) > len(export_prefix)):
            classroom.append(path)
            continue
        stem = path.name if path.is_dir() else path.stem
        entries.append(Entry(student=stem, name=stem, export="plain", kind=_zip_or(path),
                             paths=(path,), renames={}))
    for ident, paths in moodle_flat.items():
        renames = {}
        for path in paths:
            match = _MOODLE.match(path.name)
            assert match is not None
            renames[path.name] = match["rest"]
        entries.append(Entry(student=ident, name=moodle_names[ident], export="moodle",
                             kind="files", paths=tuple(sorted(paths)), renames=renames))
    prefix = export_prefix
    if not prefix or not all(p.name.startswith(prefix) and p.name != prefix for p in classroom):
        prefix = _common_prefix([p.name for p in classroom])
    for path in classroom:
        user = path.name[len(prefix):] if prefix and path.name.startswith(prefix) else path.name
        entries.append(Entry(student=user, name=user, export="classroom", kind="folder",
                             paths=(path,), renames={}))
    return _unique(entries)


def _unique(entries: list[Entry]) -> list[Entry]:
    """Make student ids unique: colliding ids become the entry names, then get ``~2``, ``~3``."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.student] = counts.get(entry.student, 0) + 1
    renamed = []
    for entry in entries:
        if counts[entry.student] > 1:
            entry = Entry(student=entry.source, name=entry.name, export=entry.export,
                          kind=entry.kind, paths=entry.paths, renames=entry.renames)
        renamed.append(entry)
    seen: dict[str, int] = {}
    out = []
    for entry in sorted(renamed, key=lambda e: (e.student, e.source)):
        n = seen.get(entry.student, 0) + 1
        seen[entry.student] = n
        if n > 1:
            entry = Entry(student=f"{entry.student}~{n}", name=entry.name, export=entry.export,
                          kind=entry.kind, paths=entry.paths, renames=entry.renames)
        out.append(entry)
    return sorted(out, key=lambda e: e.student)
