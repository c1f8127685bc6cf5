"""Recognising exports (GitHub Classroom, Moodle, Gradescope, plain) and staging submissions
safely: zip-slip, links, FIFOs, size caps and entry-point rules; no grading here."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from batchkit import REFERENCE, build

from grader.assignment import load
from grader.classroom import staging
from grader.classroom.exports import discover, slug
from grader.classroom.staging import NothingToRun, fingerprint, stage

ASSIGNMENT = load("tcp-echo-server")


def _staged(tmp_path: Path, folder: Path, student: str) -> staging.Staged:
    entry = next(e for e in discover(folder) if e.student == student)
    work = tmp_path / f"work-{student}"
    work.mkdir()
    return stage(entry, ASSIGNMENT, work)


def test_every_layout_yields_the_students_id(tmp_path: Path) -> None:
    expect = build(tmp_path / "class", hostile=False)
    found = {e.student: e for e in discover(tmp_path / "class")}
    assert set(found) == set(expect)
    for student, want in expect.items():
        assert (found[student].export, found[student].name) == (want.export, want.name), student
    assert found["1002"].kind == "files"  # Moodle flat files of one participant, grouped
    assert found["1002"].renames == {
        "Eve Jones_1002_assignsubmission_file_server.py": "server.py",
        "Eve Jones_1002_assignsubmission_onlinetext_onlinetext.html": "onlinetext.html"}


def test_classroom_prefix_comes_from_the_export_folder(tmp_path: Path) -> None:
    export = tmp_path / "echo-lab-submissions"
    (export / "echo-lab-solo-dev" / ".git").mkdir(parents=True)
    (export / "echo-lab-zipped-user").mkdir()  # downloaded without git
    (export / "stray").mkdir()
    found = {e.student: e.export for e in discover(export)}
    assert found == {"solo-dev": "classroom", "zipped-user": "classroom", "stray": "plain"}
    lone = tmp_path / "downloads"
    (lone / "echo-lab-solo" / ".git").mkdir(parents=True)
    assert [e.student for e in discover(lone)] == ["echo-lab-solo"]  # no way to tell the prefix


def test_colliding_ids_fall_back_to_entry_names(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.py").write_text("")
    (tmp_path / "alice.zip").write_bytes(b"")
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "__MACOSX").mkdir()
    assert [e.student for e in discover(tmp_path)] == ["alice", "alice.py", "alice.zip"]


@pytest.mark.parametrize("student", ["../etc/passwd", "a b", "Zoë", ".hidden", "", "x" * 300])
def test_slugs_are_safe_and_distinct(student: str) -> None:
    name = slug(student)
    assert name and "/" not in name and not name.startswith(".") and len(name) <= 100
    assert all(c.isascii() and (c.isalnum() or c in "._@+-") for c in name)
    assert slug(student + "!") != name


def test_zip_slip_links_and_absolute_paths_never_leave_the_staging_folder(tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    evil = zipfile.ZipInfo("link.py")
    evil.external_attr = (0o120777 << 16)  # a symbolic link member
    with zipfile.ZipFile(folder / "eve.zip", "w") as zf:
        zf.writestr("../../outside.py", "x = 1\n")
        zf.writestr("/tmp/absolute.py", "x = 1\n")
        zf.writestr("C:/windows.py", "x = 1\n")
        zf.writestr(evil, "/etc/passwd")
        zf.writestr("sub/server.py", REFERENCE.read_bytes())
    staged = _staged(tmp_path, folder, "eve")
    assert staged.submission.entry == "server.py"
    assert staged.submission.folder.name == "sub"
    assert any("skipped 4 unsafe member(s)" in n for n in staged.notes)
    assert not list(tmp_path.rglob("outside.py")) and not Path("/tmp/absolute.py").exists()
    assert not list(tmp_path.rglob("link.py"))


def test_links_and_fifos_in_a_folder_are_not_followed(tmp_path: Path) -> None:
    sub = tmp_path / "subs" / "fred"
    sub.mkdir(parents=True)
    (sub / "server.py").write_bytes(REFERENCE.read_bytes())
    (sub / "secret.txt").symlink_to("/etc/passwd")
    (sub / "tree").symlink_to("/etc", target_is_directory=True)
    os.mkfifo(sub / "pipe")  # copying it would block forever
    staged = _staged(tmp_path, tmp_path / "subs", "fred")
    copied = {p.name for p in staged.submission.folder.iterdir()}
    assert copied == {"server.py"}
    assert any("skipped 2 symbolic link(s)" in n for n in staged.notes)


def test_size_and_file_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    with zipfile.ZipFile(folder / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("server.py", b"#" * (4 * 1024 * 1024))  # 4 MiB, compresses to a few KiB
    assert (folder / "bomb.zip").stat().st_size < 64 * 1024
    monkeypatch.setattr(staging, "MAX_BYTES", 1024 * 1024)
    with pytest.raises(NothingToRun, match="more than 1 MiB"):
        _staged(tmp_path, folder, "bomb")
    many = folder / "many"
    many.mkdir()
    for n in range(12):
        (many / f"f{n}.txt").write_text("x")
    monkeypatch.setattr(staging, "MAX_FILES", 10)
    with pytest.raises(NothingToRun, match="more than 10 files"):
        _staged(tmp_path, folder, "many")


@pytest.mark.parametrize(("files", "entry", "where"), [
    ({"server.py": "", "helper.py": ""}, "server.py", "."),
    ({"main.py": "", "notes.txt": ""}, "main.py", "."),
    ({"src/server.py": "", "tests/test_server.py": "", "setup.py": "", "tools.py": ""},
     "server.py", "src"),
    ({"deep/a/server.py": "", "deep/server.py": ""}, "server.py", "deep"),
    ({"pkg/only.py": "", "README.md": ""}, "only.py", "pkg"),
])
def test_entry_point_rules(tmp_path: Path, files: dict[str, str], entry: str, where: str) -> None:
    sub = tmp_path / "subs" / "s"
    for name, text in files.items():
        (sub / name).parent.mkdir(parents=True, exist_ok=True)
        (sub / name).write_text(text)
    staged = _staged(tmp_path, tmp_path / "subs", "s")
    assert staged.submission.entry == entry
    assert staged.submission.folder == tmp_path / "work-s" / "files" / where


@pytest.mark.parametrize(("files", "words"), [
    ({}, "the submission is empty"),
    ({"report.pdf": "%PDF"}, "no .py file in the submission (it holds report.pdf)"),
    ({"a.py": "", "b.py": ""}, "cannot tell which one to run"),
])
def test_nothing_to_run_says_why(tmp_path: Path, files: dict[str, str], words: str) -> None:
    sub = tmp_path / "subs" / "s"
    sub.mkdir(parents=True)
    for name, text in files.items():
        (sub / name).write_text(text)
    with pytest.raises(NothingToRun, match=words.replace("(", r"\(").replace(")", r"\)")):
        _staged(tmp_path, tmp_path / "subs", "s")


def test_a_single_non_program_file_has_nothing_to_run(tmp_path: Path) -> None:
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "notes.txt").write_text("my server is great")
    with pytest.raises(NothingToRun, match=r"notes.txt is not a \.py program"):
        _staged(tmp_path, tmp_path / "subs", "notes")


def test_fingerprint_tracks_content(tmp_path: Path) -> None:
    sub = tmp_path / "subs" / "s"
    sub.mkdir(parents=True)
    (sub / "server.py").write_text("a")
    entry = discover(tmp_path / "subs")[0]
    first = fingerprint(entry)
    assert fingerprint(entry) == first
    (sub / "server.py").write_text("b")
    assert fingerprint(entry) != first
    (sub / "server.py").write_text("a")
    (sub / "__pycache__").mkdir()
    (sub / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert fingerprint(entry) == first  # caches do not count


def test_the_gradescope_export_folder_is_found_inside_its_wrapper(tmp_path: Path) -> None:
    export = tmp_path / "download" / "assignment_77_export"
    (export / "submission_1").mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Ada\n    :sid: A1\n")
    assert [(e.student, e.name) for e in discover(tmp_path / "download")] == [("A1", "Ada")]


def test_staging_roots_of_killed_batches_are_swept(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"sockgrade-batch-{dead.pid}-abc" / "s-1" / "files").mkdir(parents=True)
    (tmp_path / "sockgrade-batch-1-live").mkdir()  # pid 1 is alive
    mine = staging.make_root()
    assert mine.parent == tmp_path and oct(mine.stat().st_mode & 0o777) == "0o755"
    assert staging.sweep_roots() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["sockgrade-batch-1-live",
                                                                 mine.name])
