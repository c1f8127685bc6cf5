"""Staging: a private, bounded copy of one submission, and the program to run in it.

Theory of operation: student files are untrusted and the teacher's download
must stay untouched, so every submission is graded from a copy in a fresh
temporary folder, never in place.  A folder is copied without following
symbolic links and without ``.git``; a single file is copied alone; flat
Moodle files are copied under their original names; a ``.zip`` is extracted
safely: no absolute or ``..`` paths (zip-slip), no symbolic links or device
files, encrypted members refused, and the bytes actually written are counted
against a cap (a zip bomb's header cannot lie its way past it).  A folder
holding nothing runnable but exactly one zip has that zip extracted too
(students often upload a zip into a Moodle folder).  A batch's copies live
under one ``sockgrade-batch-<pid>-*`` folder, removed at the end; the next
batch removes those of batches that were killed (:func:`sweep_roots`).

The entry point is then found: the assignment's ``entry`` name at the top,
else the only program file (same suffix as ``entry``) at the top, else the
shallowest ``entry`` name below, else the only program file anywhere.
When nothing fits, :class:`NothingToRun` says why: the submission's fault,
so a failed row with score 0, never a missing one.

:func:`fingerprint` hashes a submission's source files so ``--resume`` can
tell a re-downloaded, changed submission from the one already graded.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.assignment import Assignment
from grader.classroom.exports import Entry
from grader.submission import Submission

#: Bytes a staged submission may hold (files copied or extracted).
MAX_BYTES = 64 * 1024 * 1024
#: Files a staged submission may hold.
MAX_FILES = 2000
#: Prefix of a batch's staging folder in the temporary folder: ``sockgrade-batch-<pid>-*``.
ROOT_PREFIX = "sockgrade-batch-"
#: Folders never copied from a submission (version control and caches).
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "__MACOSX", ".mypy_cache", ".pytest_cache"}


class NothingToRun(Exception):
    """The submission holds no program the grader can run (the student's fault)."""


@dataclass(frozen=True, kw_only=True)
class Staged:
    """A staged submission: what to run, and notes for the report (e.g. where the entry was)."""

    submission: Submission
    notes: tuple[str, ...] = ()


@dataclass
class _Budget:
    bytes: int = 0
    files: int = 0
    notes: list[str] = field(default_factory=list)

    def file(self, what: str) -> None:
        """Count one more file; raises NothingToRun past MAX_FILES."""
        self.files += 1
        if self.files > MAX_FILES:
            raise NothingToRun(f"the submission holds more than {MAX_FILES} files ({what})")

    def grow(self, size: int, what: str) -> None:
        """Count ``size`` more bytes written; raises NothingToRun past MAX_BYTES."""
        self.bytes += size
        if self.bytes > MAX_BYTES:
            raise NothingToRun(f"the submission holds more than {MAX_BYTES // 2**20} MiB ({what})")


def _copy_file(src: Path, dest: Path, budget: _Budget) -> None:
    """Copy a regular file (never a FIFO or device), counting its bytes; keeps the x bit."""
    info = os.lstat(src)
    if not stat.S_ISREG(info.st_mode):
        budget.notes.append(f"skipped {src.name}: not a regular file")
        return
    budget.file(src.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as reader, open(dest, "wb") as writer:
        while chunk := reader.read(1 << 16):
            budget.grow(len(chunk), src.name)
            writer.write(chunk)
    os.chmod(dest, 0o755 if info.st_mode & 0o111 else 0o644)


def _walk(folder: Path) -> Iterator[tuple[Path, PurePosixPath]]:
    """Regular files under ``folder`` (symbolic links and SKIP_DIRS left out), sorted."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not (base / d).is_symlink())
        for name in sorted(filenames):
            path = base / name
            if path.is_symlink():
                continue
            yield path, PurePosixPath(path.relative_to(folder).as_posix())


def _copy_folder(src: Path, dest: Path, budget: _Budget) -> None:
    links = 0
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        base = Path(dirpath)
        links += sum(1 for n in [*dirnames, *filenames] if (base / n).is_symlink())
    for path, rel in _walk(src):
        _copy_file(path, dest / rel, budget)
    if links:
        budget.notes.append(f"skipped {links} symbolic link(s) in the submission")


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's path if it stays inside the extraction folder, else None."""
    text = name.replace("\\", "/")
    path = PurePosixPath(text)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        return None
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return PurePosixPath(*parts)


def extract_zip(archive: Path, dest: Path, budget: _Budget) -> None:
    """Extract ``archive`` into ``dest`` safely (see the module docstring).

    Raises :class:`NothingToRun` for a damaged, encrypted or oversized zip.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            unsafe = 0
            for info in zf.infolist():
                mode = info.external_attr >> 16
                rel = _safe_member(info.filename)
                if rel is None:
                    unsafe += 1
                    continue
                if any(p in SKIP_DIRS for p in rel.parts):
                    continue
                if info.is_dir():
                    continue
                if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # links, devices, FIFOs
                    unsafe += 1
                    continue
                if info.flag_bits & 0x1:
                    raise NothingToRun(f"{archive.name}: the zip is encrypted")
                target = dest / rel
                budget.file(info.filename)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as reader, open(target, "wb") as writer:
                        while chunk := reader.read(1 << 16):
                            budget.grow(len(chunk), info.filename)
                            writer.write(chunk)
                except (IsADirectoryError, NotADirectoryError, FileExistsError):
                    unsafe += 1  # a member clashing with a folder of the same name
                    continue
                os.chmod(target, 0o755 if mode & 0o111 else 0o644)
            if unsafe:
                budget.notes.append(f"{archive.name}: skipped {unsafe} unsafe member(s) "
                                    "(absolute or '..' paths, links, devices, clashes)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise NothingToRun(f"{archive.name} is not a readable zip file: {exc}") from None
    except RuntimeError as exc:  # zipfile raises it for encrypted members too
        raise NothingToRun(f"{archive.name}: {exc}") from None


def _programs(folder: Path, suffix: str) -> list[PurePosixPath]:
    return [rel for _, rel in _walk(folder) if rel.suffix == suffix]


def find_entry(folder: Path, entry: str) -> tuple[Path, str, str | None]:
    """The entry point under ``folder``: (its folder, its file name, a note or None).

    Raises :class:`NothingToRun` when no single program file stands out.
    """
    suffix = PurePosixPath(entry).suffix or ".py"
    programs = _programs(folder, suffix)
    top = [p for p in programs if len(p.parts) == 1]
    if PurePosixPath(entry) in top:
        return folder, entry, None
    if len(top) == 1:
        note = None if top[0].name == entry else f"entry point: {top[0]} (no {entry})"
        return folder, top[0].name, note
    named = sorted((p for p in programs if p.name == entry), key=lambda p: len(p.parts))
    if named and (len(named) == 1 or len(named[0].parts) < len(named[1].parts)):
        return folder / named[0].parent, entry, f"entry point: {named[0]} (in a sub-folder)"
    if len(programs) == 1:
        found = programs[0]
        return folder / found.parent, found.name, f"entry point: {found} (no {entry})"
    if not programs:
        files = [rel for _, rel in _walk(folder)]
        if not files:
            raise NothingToRun("the submission is empty")
        shown = ", ".join(str(f) for f in files[:5]) + (" ..." if len(files) > 5 else "")
        raise NothingToRun(f"no {suffix} file in the submission (it holds {shown})")
    shown = ", ".join(str(p) for p in programs[:6]) + (" ..." if len(programs) > 6 else "")
    raise NothingToRun(f"no {entry}, and {len(programs)} {suffix} files to choose from "
                       f"({shown}): cannot tell which one to run")


def stage(entry: Entry, assignment: Assignment, workdir: Path) -> Staged:
    """Copy or extract ``entry`` into the empty folder ``workdir`` and find what to run.

    Raises :class:`NothingToRun` (the student's fault) or ``OSError`` (the machine's).
    """
    budget = _Budget()
    files = workdir / "files"
    files.mkdir()
    suffix = PurePosixPath(assignment.entry).suffix or ".py"
    if entry.kind == "folder":
        _copy_folder(entry.paths[0], files, budget)
    elif entry.kind == "zip":
        extract_zip(entry.paths[0], files, budget)
    elif entry.kind == "file" and entry.paths[0].suffix != suffix:
        raise NothingToRun(f"{entry.source} is not a {suffix} program")
    else:
        for path in entry.paths:
            _copy_file(path, files / entry.renames.get(path.name, path.name), budget)
    if not _programs(files, suffix):
        zips = [rel for _, rel in _walk(files) if rel.suffix.lower() == ".zip"]
        if len(zips) == 1:
            inner = files / zips[0]
            extract_zip(inner, inner.parent, budget)
            inner.unlink()
            budget.notes.append(f"extracted {zips[0]} found in the submission")
    try:
        folder, name, note = find_entry(files, assignment.entry)
    except NothingToRun as exc:
        if budget.notes:
            raise NothingToRun(f"{exc} ({'; '.join(budget.notes)})") from None
        raise
    for dirpath, _dirs, _files in os.walk(workdir):
        os.chmod(dirpath, 0o755)  # readable by an unprivileged container user
    notes = [*budget.notes, *((note,) if note else ())]
    return Staged(submission=Submission(label=entry.student, folder=folder, entry=name,
                                        command=None), notes=tuple(notes))


def fingerprint(entry: Entry) -> str:
    """SHA-256 (hex) over the entry's file names and contents, as staging would read them."""
    digest = hashlib.sha256(entry.kind.encode())

    def add(name: str, path: Path) -> None:
        digest.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with open(path, "rb") as handle:
                read = 0
                while read < MAX_BYTES and (chunk := handle.read(1 << 16)):
                    digest.update(chunk)
                    read += len(chunk)
        except OSError as exc:
            digest.update(f"unreadable: {exc.strerror}".encode())

    if entry.kind == "folder":
        for path, rel in _walk(entry.paths[0]):
            if stat.S_ISREG(os.lstat(path).st_mode):
                add(str(rel), path)
    else:
        for path in entry.paths:
            add(entry.renames.get(path.name, path.name), path)
    return digest.hexdigest()


def remove(workdir: Path) -> None:
    """Delete a staging folder, even one a submission made read-only."""
    def unlock(_func: object, path: str, _exc: object) -> None:
        try:
            os.chmod(path, 0o700)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass

    shutil.rmtree(workdir, onerror=unlock)


def make_root() -> Path:
    """A fresh staging root for this process's batch (readable by a container user)."""
    root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-"))
    os.chmod(root, 0o755)
    return root


def sweep_roots() -> int:
    """Remove the staging roots of batches whose process is gone; how many were removed."""
    pattern = re.compile(rf"^{re.escape(ROOT_PREFIX)}(\d+)-")
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        match = pattern.match(path.name)
        if not match or not path.is_dir() or path.is_symlink():
            continue
        pid = int(match[1])
        if pid == os.getpid() or _alive(pid):
            continue
        remove(path)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
