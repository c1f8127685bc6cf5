"""Builds a class's folder of 30 mixed submissions for the batch tests and the benchmark.

The folder mixes every layout ``sockgrade batch`` recognises (plain folders,
files and zips; Moodle folders and flat files; GitHub Classroom clones;
Gradescope submissions with their metadata file) and every kind of
submission: references, known-bug programs (tests/bugs/tcp-echo-server),
hostile programs (tests/hostile, when present), a Python 2 file, an empty
folder, a folder with nothing to choose, a damaged zip and a zip-slip zip.
:func:`build` returns what each row must say.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from helpers import BUGS, TESTS

from grader.bundle import REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "tcp_echo_server.py"
ECHO_BUGS = BUGS / "tcp-echo-server"
HOSTILE = TESTS / "hostile"
#: The probes the quick batches run (``--select``), and the command-line words for them.
QUICK = ("startup/*", "echo/*")
QUICK_ARGS = ("--select", "startup/*", "--select", "echo/*")
QUICK_PROBES = frozenset({"startup/listens", "echo/one-message", "echo/many-messages",
                          "echo/binary"})
#: How many submissions :func:`build` makes.
SIZE = 30


@dataclass(frozen=True)
class Expect:
    """What the row of one submission must say.

    ``status`` None means "any status but a missing row" (hostile programs
    behave differently under each runner); ``note`` words must appear in the
    note column.
    """

    export: str
    name: str
    status: str | None
    note: str = ""


def bug_statuses(selected: frozenset[str] | None = None) -> dict[str, str]:
    """Known bug -> expected status when the probes ``selected`` run (None: all)."""
    from test_tcp_echo_server import KNOWN_BUGS

    from grader.assignment import load

    required = {c.name for c in load("tcp-echo-server").probes if c.tier.value == "required"}
    counted = required if selected is None else required & selected
    out = {}
    for bug, (failing, skipped, _reasons) in KNOWN_BUGS.items():
        out[bug] = "failed" if (failing | skipped) & counted else "passed"
    return out


def _server_folder(folder: Path, program: Path) -> None:
    folder.mkdir(parents=True)
    shutil.copy(program, folder / "server.py")
    if "_threaded" in program.read_text():
        shutil.copy(ECHO_BUGS / "_threaded.py", folder / "_threaded.py")


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


GRADESCOPE_METADATA = """\
submission_5001:
  :submitters:
  - :name: Grace Hopper
    :sid: S5001
    :email: grace@example.edu
  :created_at: 2026-03-01 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
  :status: unreviewed
submission_5002:
  :submitters:
  - :name: Hedy Lamarr
    :sid: ''
    :email: hedy@example.edu
  :created_at: 2026-03-01 11:00:00.000000000 -08:00
  :score: 0.0
"""


def build(root: Path, *, hostile: bool = True, size: int = SIZE,
          selected: frozenset[str] | None = QUICK_PROBES) -> dict[str, Expect]:
    """Make the class folder in ``root`` (created); returns student id -> :class:`Expect`.

    ``selected`` is the set of probes the batch will run (None: all), which
    decides the known bugs' expected statuses.
    """
    root.mkdir(parents=True)
    ref = REFERENCE.read_bytes()
    threaded = (ECHO_BUGS / "_threaded.py").read_bytes()
    expect: dict[str, Expect] = {}

    # references in every layout
    _server_folder(root / "alice", REFERENCE)
    expect["alice"] = Expect("plain", "alice", "passed")
    shutil.copy(REFERENCE, root / "bob.py")
    expect["bob"] = Expect("plain", "bob", "passed")
    _zip(root / "carol.zip", {"carol/server.py": ref, "carol/README.md": b"# echo\n"})
    expect["carol"] = Expect("plain", "carol", "passed")
    _server_folder(root / "Dana Smith_1001_assignsubmission_file_", REFERENCE)
    expect["1001"] = Expect("moodle", "Dana Smith", "passed")
    (root / "Eve Jones_1002_assignsubmission_file_server.py").write_bytes(ref)
    (root / "Eve Jones_1002_assignsubmission_onlinetext_onlinetext.html").write_text("<p>hi</p>")
    expect["1002"] = Expect("moodle", "Eve Jones", "passed")
    moodle_zip = root / "Finn Brown_1003_assignsubmission_file_"
    moodle_zip.mkdir()
    _zip(moodle_zip / "project.zip", {"project/server.py": ref})
    expect["1003"] = Expect("moodle", "Finn Brown", "passed")
    for user, program in (("gina", REFERENCE), ("hugo", ECHO_BUGS / "adds_newline.py")):
        repo = root / f"echo-lab-{user}"
        _server_folder(repo, program)
        (repo / ".git").mkdir()
        (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    statuses = bug_statuses(selected)
    expect["gina"] = Expect("classroom", "gina", "passed")
    expect["hugo"] = Expect("classroom", "hugo", statuses["adds_newline"])
    (root / "submission_metadata.yml").write_text(GRADESCOPE_METADATA)
    _server_folder(root / "submission_5001", REFERENCE)
    expect["S5001"] = Expect("gradescope", "Grace Hopper", "passed")
    _server_folder(root / "submission_5002", ECHO_BUGS / "never_replies.py")
    expect["hedy@example.edu"] = Expect("gradescope", "Hedy Lamarr", statuses["never_replies"])
    # submissions with nothing (sensible) to run
    shutil.copy(ECHO_BUGS / "python2.py", root / "ivan.py")
    expect["ivan"] = Expect("plain", "ivan", "failed", "startup/listens")
    (root / "jack").mkdir()
    expect["jack"] = Expect("plain", "jack", "failed", "nothing to run: the submission is empty")
    (root / "kate").mkdir()
    (root / "kate" / "a.py").write_bytes(ref)
    (root / "kate" / "b.py").write_bytes(ref)
    expect["kate"] = Expect("plain", "kate", "failed", "cannot tell which one to run")
    (root / "liam.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    expect["liam"] = Expect("plain", "liam", "failed", "not a readable zip")
    _zip(root / "mia.zip", {"../../escaped.py": b"print('escaped')\n", "/abs.py": b"x = 1\n",
                            "server.py": ref})
    expect["mia"] = Expect("plain", "mia", "passed")

    # hostile programs, then known bugs, up to `size`
    if hostile and HOSTILE.is_dir():
        for program in sorted(HOSTILE.glob("[a-z]*.py")):
            if len(expect) >= size:
                break
            student = f"hostile-{program.stem}"
            _server_folder(root / student, program)
            expect[student] = Expect("plain", student, None)
    for bug in sorted(statuses):
        if len(expect) >= size:
            break
        if bug in ("adds_newline", "never_replies", "python2"):
            continue
        student = f"bug-{bug}"
        (root / student).mkdir()
        (root / student / "server.py").write_bytes((ECHO_BUGS / f"{bug}.py").read_bytes())
        (root / student / "_threaded.py").write_bytes(threaded)
        expect[student] = Expect("plain", student, statuses[bug])
    n = 0
    while len(expect) < size:  # more references if the bugs ran out
        n += 1
        _server_folder(root / f"zed{n}", REFERENCE)
        expect[f"zed{n}"] = Expect("plain", f"zed{n}", "passed")
    return expect
