"""``sockgrade batch`` and ``sockgrade merge`` with the local runner: a class folder of 30 mixed
submissions gives 30 rows with the right ids and statuses, the combined JUnit file validates,
``--resume`` grades only what is missing or changed, shards merge into the full gradebook, an
interrupt keeps finished reports, and bad input is one line with exit status 2."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import xmlschema
from batchkit import QUICK_ARGS, REFERENCE, SIZE, Expect, bug_statuses, build
from helpers import BUGS, ROOT, TESTS

from grader.assignment import load
from grader.classroom.gradebook import COLUMNS, read_gradebook
from grader.cli import main
from grader.net import free_port
from grader.verdict import Tier

pytestmark = pytest.mark.xdist_group("test_batch")  # one worker: its module fixtures are shared

SCHEMA = xmlschema.XMLSchema(str(TESTS / "schemas" / "junit-10.xsd"))


def batch(*args: str | Path) -> int:
    """Run ``sockgrade batch`` in-process; its exit status."""
    return main(["batch", *(str(a) for a in args)])


def manifest(out: Path, name: str = "batch.json") -> dict:  # type: ignore[type-arg]
    return json.loads((out / name).read_text())


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def comparable(gradebook: Path, expect: dict[str, Expect]) -> list[str]:
    """The gradebook's lines with port numbers masked (a note may quote the free port used)
    and hostile programs' rows cut to the student id (their timing-bound behaviour, e.g. a
    fork bomb starving the server's own threads, may differ between two runs)."""
    lines = []
    for line in re.sub(r":\d{2,5}\b", ":PORT", gradebook.read_text()).splitlines():
        student = line.split(",", 1)[0]
        lines.append(student if student in expect and expect[student].status is None else line)
    return lines


def check_rows(out: Path, expect: dict[str, Expect]) -> dict[str, dict[str, str]]:
    """The gradebook has exactly one row per expected student, saying what it must."""
    rows = read_gradebook(out / "gradebook.csv")
    assert len(rows) == len(expect)
    by_id = {r["student"]: r for r in rows}
    assert set(by_id) == set(expect)
    for student, want in expect.items():
        row = by_id[student]
        assert row["export"] == want.export, student
        assert row["name"] == want.name, student
        if want.status is not None:
            assert row["status"] == want.status, (student, row)
        else:
            assert row["status"] in ("passed", "failed", "error"), (student, row)
        assert want.note in row["note"], (student, row["note"])
        if row["status"] == "passed":
            assert row["score"] == row["max"] != "0", (student, row)
    return by_id


@pytest.fixture(scope="module", autouse=True)
def _no_escape_file_left() -> Iterator[None]:
    """hostile/write_outside.py writes /tmp/sockgrade-escape.txt under the local runner."""
    escape = Path("/tmp/sockgrade-escape.txt")
    existed = escape.exists()
    yield
    if not existed:
        escape.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Expect]]:
    """The class folder graded once with the quick probe selection: (folder, out, expected)."""
    root = tmp_path_factory.mktemp("class")
    folder = root / "submissions"
    expect = build(folder)
    before = tree_digest(folder)
    out = root / "out"
    assert batch("tcp-echo-server", folder, "--out", out, "--jobs", "2", *QUICK_ARGS) == 0
    assert tree_digest(folder) == before, "the batch changed the teacher's folder"
    return folder, out, expect


def test_thirty_mixed_submissions_give_thirty_rows(
        quick: tuple[Path, Path, dict[str, Expect]]) -> None:
    folder, out, expect = quick
    assert len(expect) == SIZE
    rows = check_rows(out, expect)
    assert list(read_gradebook(out / "gradebook.csv")[0]) == list(COLUMNS)
    assert [r["student"] for r in read_gradebook(out / "gradebook.csv")] == sorted(expect)
    assert rows["ivan"]["score"] == "0"  # Python 2: crashes at start
    assert rows["jack"]["score"] == "0" and rows["jack"]["max"] != "0"
    assert not [s for s, r in rows.items() if r["status"] == "error"
                and expect[s].status is not None]
    # the zip-slip members went nowhere
    assert not list(folder.parent.rglob("escaped.py"))
    assert not Path("/escaped.py").exists() and not Path("/abs.py").exists()


def test_every_student_has_reports_and_the_combined_junit_validates(
        quick: tuple[Path, Path, dict[str, Expect]]) -> None:
    _folder, out, expect = quick
    reports = sorted((out / "students").glob("*.json"))
    assert len(reports) == len(expect)
    students = set()
    for path in reports:
        data = json.loads(path.read_text())
        students.add(data["batch"]["student"])
        assert data["submission"] == data["batch"]["student"]
        timed = data["batch"].get("launch_seconds")  # where the launches' time went
        assert timed is not None or data["status"] != "passed"
        if timed is not None:
            assert data["batch"]["launches"] >= 1 and {"start", "ready", "stop"} <= set(timed)
            assert all(seconds >= 0 for seconds in timed.values())
        junit = path.with_name(path.name.replace(".json", ".junit.xml"))
        SCHEMA.validate(str(junit))
    assert students == set(expect)
    combined = out / "junit.xml"
    SCHEMA.validate(str(combined))
    tree = SCHEMA.to_dict(str(combined))
    suites = tree["testsuite"]
    assert len(suites) == len(expect)
    assert {s["@name"].split(":", 1)[1] for s in suites} == set(expect)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["submissions"] == len(expect)
    assert sum(b["count"] for b in summary["distribution"]) == len(expect) - summary["status"]["error"]
    assert summary["most_failed"][0]["probe"] == "startup/listens"
    assert "Score distribution" in (out / "summary.md").read_text()


def test_resume_grades_only_missing_and_changed_submissions(
        quick: tuple[Path, Path, dict[str, Expect]], tmp_path: Path) -> None:
    folder, out, _expect = quick
    copy, resumed = tmp_path / "submissions", tmp_path / "out"
    shutil.copytree(folder, copy, symlinks=True)
    shutil.copytree(out, resumed)
    (resumed / "students" / "hugo.json").unlink()  # as if killed before hugo's report was written
    shutil.copy(BUGS / "tcp-echo-server" / "python2.py", copy / "alice" / "server.py")  # resubmitted
    assert batch("tcp-echo-server", copy, "--out", resumed, "--jobs", "2", "--resume",
                 *QUICK_ARGS) == 0
    info = manifest(resumed)
    assert (info["graded"], info["resumed"]) == (2, SIZE - 2)
    before = {r["student"]: r for r in read_gradebook(out / "gradebook.csv")}
    after = {r["student"]: r for r in read_gradebook(resumed / "gradebook.csv")}
    assert after["alice"]["status"] == "failed"
    before.pop("alice"), after.pop("alice")
    assert after == before
    SCHEMA.validate(str(resumed / "junit.xml"))


def test_shards_merge_into_the_full_gradebook(
        quick: tuple[Path, Path, dict[str, Expect]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder, out, expect = quick
    outs = [tmp_path / "shard1", tmp_path / "shard2"]
    codes: dict[int, int] = {}

    def shard(index: int) -> None:
        codes[index] = batch("tcp-echo-server", folder, "--out", outs[index - 1], "--jobs", "1",
                             "--shard", f"{index}/2", *QUICK_ARGS)

    threads = [threading.Thread(target=shard, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == {1: 0, 2: 0}
    one = read_gradebook(outs[0] / "gradebook.shard-1-of-2.csv")
    two = read_gradebook(outs[1] / "gradebook.shard-2-of-2.csv")
    assert len(one) + len(two) == SIZE and not {r["student"] for r in one} & {r["student"] for r in two}
    merged = tmp_path / "merged"
    assert main(["merge", str(outs[0]), str(outs[1]), "--out", str(merged)]) == 0
    assert comparable(merged / "gradebook.csv", expect) == comparable(out / "gradebook.csv", expect)
    SCHEMA.validate(str(merged / "junit.xml"))
    assert len(SCHEMA.to_dict(str(merged / "junit.xml"))["testsuite"]) == SIZE
    capsys.readouterr()

    # merge refuses incomplete or doubled input, in one line
    assert main(["merge", str(outs[0]), "--out", str(tmp_path / "m2")]) == 2
    assert "missing shard(s) 2 of 2" in capsys.readouterr().err
    assert main(["merge", str(outs[0]), str(outs[0]), "--out", str(tmp_path / "m3")]) == 2
    assert "shard 1 of 2 given twice" in capsys.readouterr().err
    assert main(["merge", str(out), "--out", str(tmp_path / "m4")]) == 2
    assert "no shard manifest" in capsys.readouterr().err


def test_merge_refuses_shards_of_different_batches(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(REFERENCE, folder / f"{name}.py")
    assert batch("tcp-echo-server", folder, "--out", tmp_path / "o", "--shard", "1/2",
                 "--select", "startup/*") == 0
    assert batch("tcp-echo-server", folder, "--out", tmp_path / "o", "--shard", "2/2",
                 "--select", "echo/*") == 0
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "o"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "different batches (their grading options differ)" in err and err.count("\n") == 1


def test_full_batch_runs_every_probe(tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(REFERENCE, folder / "ref.py")
    statuses = bug_statuses(None)
    for bug in ("adds_newline", "dies_on_reset", "send_not_sendall", "python2"):
        (folder / bug).mkdir()
        for name in (f"{bug}.py", "_threaded.py"):
            shutil.copy(BUGS / "tcp-echo-server" / name, folder / bug / name)
        (folder / bug / f"{bug}.py").rename(folder / bug / "server.py")
    (folder / "nothing").mkdir()
    out = tmp_path / "out"
    assert batch("tcp-echo-server", folder, "--out", out, "--jobs", "2") == 0
    rows = {r["student"]: r for r in read_gradebook(out / "gradebook.csv")}
    assert {s: r["status"] for s, r in rows.items()} == {
        "ref": "passed", "nothing": "failed",
        **{bug: statuses[bug] for bug in ("adds_newline", "dies_on_reset", "send_not_sendall",
                                          "python2")}}
    probes = load("tcp-echo-server").probes
    weights = sum(c.weight for c in probes if c.tier is Tier.REQUIRED)
    assert rows["ref"]["score"] == rows["ref"]["max"] == f"{weights:g}"
    assert rows["ref"]["passed"] == str(len(probes))  # the required ones + the informational one
    failing = json.loads((out / "students" / "send_not_sendall.json").read_text())
    assert [p["name"] for p in failing["probes"] if p["outcome"] == "failed"] == ["backpressure"]
    SCHEMA.validate(str(out / "junit.xml"))


def test_pinned_port_grades_one_submission_at_a_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """On a shared loopback (no network namespaces: not root, or switched off)."""
    monkeypatch.setenv("SOCKGRADE_NETNS", "0")
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(REFERENCE, folder / f"{name}.py")
    out = tmp_path / "out"
    assert batch("tcp-echo-server", folder, "--out", out, "--jobs", "3",
                 "--port", str(free_port()), *QUICK_ARGS) == 0
    text = capsys.readouterr().out
    assert "is pinned, so the local runner grades one submission at a time" in text
    assert manifest(out)["jobs"] == 1
    assert [r["status"] for r in read_gradebook(out / "gradebook.csv")] == ["passed"] * 3


def test_pinned_port_grades_in_parallel_in_network_namespaces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As root (CI) each server has a network namespace of its own: no one-at-a-time."""
    assert os.geteuid() == 0, "CI runs as root: network namespaces must be tested"
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(REFERENCE, folder / f"{name}.py")
    out = tmp_path / "out"
    assert batch("tcp-echo-server", folder, "--out", out, "--jobs", "3",
                 "--port", str(free_port()), *QUICK_ARGS) == 0
    assert "one submission at a time" not in capsys.readouterr().out
    assert manifest(out)["jobs"] == 3
    assert [r["status"] for r in read_gradebook(out / "gradebook.csv")] == ["passed"] * 3


def _sockgrade(*args: str | Path, env: dict[str, str]) -> subprocess.Popen[str]:
    def default_sigint() -> None:  # a background job may inherit SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return subprocess.Popen([sys.executable, "-m", "grader", *(str(a) for a in args)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)


def _wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _leftovers(under: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.cwd().startswith(str(under)):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def test_interrupt_keeps_finished_reports_and_resume_finishes(tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(REFERENCE, folder / "a-first.py")
    for n in range(4):  # each takes a reply timeout or more
        (folder / f"slow{n}").mkdir()
        for name in ("never_replies.py", "_threaded.py"):
            shutil.copy(BUGS / "tcp-echo-server" / name, folder / f"slow{n}" / name)
        (folder / f"slow{n}" / "never_replies.py").rename(folder / f"slow{n}" / "server.py")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    out = tmp_path / "out"
    args = ("batch", "tcp-echo-server", folder, "--out", out, "--jobs", "1", *QUICK_ARGS)
    proc = _sockgrade(*args, env=env)
    try:
        first = out / "students" / "a-first.json"
        assert _wait_for(first.exists, 30), "the first report never appeared"
        proc.send_signal(signal.SIGINT)
        stdout, _stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "interrupted: 1 of 5 submissions graded" in stdout
    assert "--resume" in stdout
    assert sorted(p.name for p in (out / "students").iterdir()) == [
        "a-first.json", "a-first.junit.xml"]
    assert not (out / "gradebook.csv").exists()
    assert _wait_for(lambda: not _leftovers(scratch), 10), "a student program survived"
    assert not list(scratch.iterdir()), "staging copies were left behind"

    resumed = _sockgrade(*args, "--resume", env=env)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert "resume: 1 already graded, 4 to grade" in stdout
    info = manifest(out)
    assert (info["graded"], info["resumed"]) == (4, 1)
    assert [r["status"] for r in read_gradebook(out / "gradebook.csv")] == ["passed"] + ["failed"] * 4


@pytest.mark.parametrize(("args", "words"), [
    (("nowhere",), "submissions folder not found"),
    (("EMPTY",), "no submissions in the folder"),
    (("SUBS", "--shard", "3/2"), "--shard: I must be between 1 and N"),
    (("SUBS", "--shard", "x"), "--shard: expected I/N"),
    (("SUBS", "--jobs", "0"), "--jobs: expected at least 1"),
    (("SUBS", "--select", "nope/*"), "no probe matches"),
    (("SUBS", "--", "python", "x.py"), "a command after -- is not supported"),
])
def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               args: tuple[str, ...], words: str) -> None:
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "SUBS").mkdir()
    shutil.copy(REFERENCE, tmp_path / "SUBS" / "a.py")
    real = [str(tmp_path / a) if a in ("EMPTY", "SUBS", "nowhere") else a for a in args]
    assert main(["batch", "tcp-echo-server", *real, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err
