"""Hidden probes and the course-platform formats (Gradescope, PrairieLearn).

A hidden probe counts but no student-facing output names it or shows its
evidence: every output format of ``sockgrade check`` is grepped for the
hidden probes' names, requirements, evidence and hints.  The teacher's views
(``--show-hidden``, ``sockgrade batch``) show everything.  Gradescope's and
PrairieLearn's results files are validated against the schemas in
tests/schemas/, and a grader error never costs points in either.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import pty
import re
import select
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from helpers import BUGS, ROOT, TESTS, grade

from grader.assignment import load
from grader.classroom import autograder, install_wheels
from grader.classroom.gradebook import COLUMNS, read_gradebook
from grader.cli import main
from grader.errors import UsageError
from grader.report import gradescope, prairielearn
from grader.report.visibility import hidden_summary, student_view
from grader.runner import GradeResult
from grader.settings import reference_submission
from grader.verdict import Outcome

GRADESCOPE = json.loads((TESTS / "schemas" / "gradescope-results.json").read_text())
PRAIRIELEARN = json.loads((TESTS / "schemas" / "prairielearn-results.json").read_text())
JUNIT = xmlschema.XMLSchema(str(TESTS / "schemas" / "junit-10.xsd"))
_REF = reference_submission(load("tcp-echo-server"))
REFERENCE = _REF.folder / str(_REF.entry)
DECODE_TEXT = BUGS / "tcp-echo-server" / "decode_text.py"
SELECT = ("startup/*", "echo/*")
SELECT_ARGS = ("--select", "startup/*", "--select", "echo/*")
#: Text of the two hidden probes (startup/listens, echo/binary) and of decode_text.py's failure
#: of echo/binary: none of it may reach a student-facing output.
SECRETS = ("startup/listens", "echo/binary", "starts and listens", "All 256 byte values",
           "UnicodeDecodeError", "decodes bytes as text", "\\x00\\x01\\x02")


def validate_gradescope(data: dict[str, object]) -> None:
    jsonschema.validate(data, GRADESCOPE)
    tests = data["tests"]
    assert isinstance(tests, list)
    assert all(t["score"] <= t["max_score"] for t in tests)
    assert data["score"] == sum(t["score"] for t in tests)


def validate_prairielearn(data: dict[str, object]) -> None:
    jsonschema.validate(data, PRAIRIELEARN)
    tests = data["tests"]
    assert isinstance(tests, list)
    assert all(t["points"] <= t["max_points"] for t in tests)


@pytest.fixture(scope="module")
def hidden_assignment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tcp-echo-server with startup/listens and echo/binary hidden."""
    text = load("tcp-echo-server").source.read_text()
    for name in ("startup/listens", "echo/binary"):
        header = f'[probes."{name}"]\n'
        assert header in text
        text = text.replace(header, header + "hidden = true\n")
    path = tmp_path_factory.mktemp("hidden") / "tcp-echo-hidden.toml"
    path.write_text(text)
    return path


def sockgrade(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", **extra_env}
    env.pop("SOCKGRADE_SEED", None)
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)


def outputs(folder: Path) -> dict[str, Path]:
    return {name: folder / name for name in ("r.xml", "r.json", "gs.json", "pl.json",
                                             "classroom.json")}


def report_args(files: dict[str, Path]) -> tuple[str, ...]:
    return ("--junit", str(files["r.xml"]), "--json", str(files["r.json"]),
            "--gradescope", str(files["gs.json"]), "--prairielearn", str(files["pl.json"]),
            "--classroom", str(files["classroom.json"]), "--github")


def github_env(folder: Path) -> dict[str, str]:
    """The files ``--github`` appends to, as GitHub Actions names them."""
    return {"GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
            "GITHUB_OUTPUT": str(folder / "github-output.txt")}


def test_hidden_probes_appear_in_no_student_facing_output(hidden_assignment: Path,
                                                          tmp_path: Path) -> None:
    files = outputs(tmp_path)
    run = sockgrade("check", str(hidden_assignment), str(BUGS / "tcp-echo-server" / "decode_text.py"),
                    *SELECT_ARGS, *report_args(files), **github_env(tmp_path))
    assert run.returncode == 1, run.stdout + run.stderr
    github = [Path(p) for p in github_env(tmp_path).values()]
    texts = {"console and annotations": run.stdout + run.stderr,
             **{name: path.read_text() for name, path in files.items()},
             **{path.name: path.read_text() for path in github}}
    result_line = next(line for line in github[1].read_text().splitlines()
                       if line.startswith("result="))
    texts["classroom result output (base64)"] = base64.b64decode(
        result_line.split("=", 1)[1]).decode()
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} shows in the student's {where} output"
    assert "FAIL  tcp-echo-server/hidden/probe-2" in run.stdout
    assert "2 hidden probes: 1 passed, 1 failed" in run.stdout
    assert "score 4/5" in run.stdout  # hidden probes count: listens 1 + messages 2 + 1 of 5
    report = json.loads(files["r.json"].read_text())
    assert report["score"] == 4 and report["max_score"] == 5
    assert [p["name"] for p in report["probes"] if p["hidden"]] == ["probe-1", "probe-2"]
    assert report["output"] == {"stdout": "", "stderr": "", "stdout_bytes": 0, "stderr_bytes": 0}
    scores = json.loads(files["gs.json"].read_text())
    validate_gradescope(scores)
    hidden = [t for t in scores["tests"] if t["visibility"] != "visible"]
    assert [(t["name"], t["status"], t["visibility"]) for t in hidden] == [
        ("hidden/probe-1", "passed", "hidden"), ("hidden/probe-2", "failed", "hidden")]
    assert scores["score"] == 4
    pl = json.loads(files["pl.json"].read_text())
    validate_prairielearn(pl)
    assert pl["gradable"] is True and pl["score"] == pytest.approx(4 / 5)
    for name in ("r.xml", "r.json", "gs.json", "pl.json", "classroom.json"):
        assert files[name].stat().st_mode & 0o777 == 0o644


def test_the_teachers_view_shows_hidden_probes(hidden_assignment: Path, tmp_path: Path) -> None:
    files = outputs(tmp_path)
    run = sockgrade("check", str(hidden_assignment), str(BUGS / "tcp-echo-server" / "decode_text.py"),
                    *SELECT_ARGS, "--show-hidden", "--hidden-visibility", "after_published",
                    *report_args(files), **github_env(tmp_path))
    assert run.returncode == 1
    assert "FAIL  tcp-echo-server/echo/binary" in run.stdout and "UnicodeDecodeError" in run.stdout
    assert "echo/binary" in files["r.xml"].read_text()
    scores = json.loads(files["gs.json"].read_text())
    validate_gradescope(scores)
    binary = next(t for t in scores["tests"] if t["name"] == "echo/binary")
    assert binary["visibility"] == "after_published" and "UnicodeDecodeError" in binary["output"]
    for secret in SECRETS:  # the top-level output is what every student sees
        assert secret not in scores["output"]
    pl = json.loads(files["pl.json"].read_text())  # PrairieLearn shows every test: always hidden
    assert not any(secret in json.dumps(pl) for secret in ("echo/binary", "UnicodeDecodeError"))


def test_a_skip_naming_a_hidden_probe_names_its_stand_in(hidden_assignment: Path) -> None:
    result = grade(str(hidden_assignment), BUGS / "tcp-echo-server" / "python2.py", select=SELECT)
    shown = student_view(result)
    assert (shown.score, shown.max_score, shown.status) == (result.score, result.max_score,
                                                          result.status)
    text = json.dumps([[v.probe_id, v.reason, v.hint, v.requirement, *v.evidence.lines()]
                       for v in shown.verdicts]) + json.dumps(shown.notes)
    for secret in ("startup/listens", "echo/binary"):
        assert secret not in text
    one = next(v for v in shown.verdicts if v.name == "one-message")
    assert one.outcome is Outcome.SKIPPED
    assert one.reason == "depends on tcp-echo-server/hidden/probe-1, which failed"
    assert hidden_summary(shown) == hidden_summary(result) == "2 hidden probes: 1 failed, 1 skipped"


def with_errors(result: GradeResult, count: int) -> GradeResult:
    """``result`` with its first ``count`` required verdicts turned into grader errors."""
    verdicts = list(result.verdicts)
    for index in range(count):
        verdicts[index] = replace(verdicts[index], outcome=Outcome.ERROR, excused=True,
                                  reason="grader error: machine out of ports")
    return replace(result, verdicts=tuple(verdicts))


def test_a_grader_error_never_costs_points() -> None:
    bug = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "decode_text.py", select=SELECT)
    assert (bug.score, bug.max_score) == (4, 5)
    errored = with_errors(bug, 2)  # startup/listens (1) and echo/one-message (2) not judged
    scores = gradescope.to_dict(errored)
    validate_gradescope(scores)
    credited = [t for t in scores["tests"] if t["output"].startswith("GRADER ERROR")]
    assert [(t["name"], t["score"], t["status"]) for t in credited] == [
        ("startup/listens", 1, "passed"), ("echo/one-message", 2, "passed")]
    assert scores["score"] == 4 and scores["extra_data"]["grader_errors"] == 2
    pl = prairielearn.to_dict(errored)
    validate_prairielearn(pl)
    assert pl["gradable"] is True and pl["score"] == pytest.approx(1 / 2)
    everything = prairielearn.to_dict(with_errors(bug, len(bug.verdicts)))
    validate_prairielearn(everything)
    assert everything["gradable"] is False and "not yours" in everything["message"]


def test_reference_scores_full_marks_in_both_formats() -> None:
    reference = grade("tcp-echo-server", select=SELECT)
    scores = gradescope.to_dict(reference)
    validate_gradescope(scores)
    assert scores["score"] == scores["extra_data"]["max_score"] == 5
    assert all(t["status"] == "passed" and t["visibility"] == "visible" for t in scores["tests"])
    pl = prairielearn.to_dict(reference)
    validate_prairielearn(pl)
    assert pl == {**pl, "gradable": True, "score": 1.0}


def run_on_a_terminal(*args: str, deadline: float = 300.0) -> tuple[str, bool]:
    """Run ``sockgrade ARGS`` with a pseudo-terminal as stdout/stderr; returns (output without
    escapes, whether the first probe line arrived while sockgrade was still running)."""
    master, slave = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "xterm"}
    env.pop("SOCKGRADE_SEED", None)
    proc = subprocess.Popen([sys.executable, "-m", "grader", *args], stdout=slave, stderr=slave,
                            stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
    os.close(slave)
    data, early = b"", None
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], end - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            data += chunk
            if early is None and b"PASS" in data:
                early = proc.poll() is None
    finally:
        os.close(master)
        proc.wait(timeout=60)
    text = re.sub(r"\x1b\[[0-9;]*m", "", data.decode("utf-8", "replace")).replace("\r", "")
    return text, bool(early)


def test_check_on_a_terminal_shows_each_probe_as_it_finishes(hidden_assignment: Path) -> None:
    """Live progress: probe lines come while the grading runs, each once, hidden ones as
    stand-ins; then the details and the score."""
    text, early = run_on_a_terminal("check", str(hidden_assignment),
                                    str(BUGS / "tcp-echo-server" / "decode_text.py"), *SELECT_ARGS)
    assert early, text
    lines = text.splitlines()
    assert lines[0] == "tcp-echo-server — TCP echo server"
    probe_lines = [line for line in lines if line.startswith(("PASS  ", "FAIL  "))]
    assert [line.split()[1] for line in probe_lines] == [
        "tcp-echo-server/hidden/probe-1", "tcp-echo-server/echo/one-message",
        "tcp-echo-server/echo/many-messages", "tcp-echo-server/hidden/probe-2"]
    assert text.index("FAIL  tcp-echo-server/hidden/probe-2") < text.index("submission: ")
    assert "score 4/5" in lines[-1]
    for secret in SECRETS:
        assert secret not in text


def test_teachers_batch_wide_gradebook_shows_everything(hidden_assignment: Path,
                                                        tmp_path: Path) -> None:
    """``sockgrade batch --wide``: a column per probe (hidden ones by their real names: the
    gradebook is the teacher's), every report file 0644, and in the combined JUnit each
    student's cases under their own classname."""
    folder = tmp_path / "submissions"
    for student, program in (("alice", REFERENCE), ("bob.smith", DECODE_TEXT),
                             ("carol", BUGS / "tcp-echo-server" / "python2.py")):
        (folder / student).mkdir(parents=True)
        shutil.copy(program, folder / student / "server.py")
    out = tmp_path / "out"
    assert main(["batch", str(hidden_assignment), str(folder), "--out", str(out), "--jobs", "2",
                 "--wide", *SELECT_ARGS]) == 0
    rows = read_gradebook(out / "gradebook.csv")
    probes = ["startup/listens", "echo/one-message", "echo/many-messages", "echo/binary"]
    assert list(rows[0]) == [*COLUMNS, *probes]
    by_student = {r["student"]: [r[p] for p in probes] for r in rows}
    assert by_student == {"alice": ["passed"] * 4,
                          "bob.smith": ["passed", "passed", "passed", "failed"],
                          "carol": ["failed", "skipped", "skipped", "skipped"]}
    report = json.loads((out / "students" / "bob.smith.json").read_text())
    binary = next(p for p in report["probes"] if p["name"] == "binary")
    assert binary["hidden"] and "UnicodeDecodeError" in json.dumps(binary["evidence"])
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 5 + 2 * 3
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o644"}
    combined = out / "junit.xml"
    JUNIT.validate(str(combined))
    classnames = {case.get("classname") for case in ET.parse(combined).iter("testcase")}
    assert classnames == {f"{student}.tcp-echo-server.{category}"
                          for student in ("alice", "bob_smith", "carol")
                          for category in ("startup", "echo")}
    # shards merged with --wide give the same wide gradebook
    shards = [tmp_path / f"shard{i}" for i in (1, 2)]
    for index, shard in enumerate(shards, start=1):
        assert main(["batch", str(hidden_assignment), str(folder), "--out", str(shard),
                     "--shard", f"{index}/2", *SELECT_ARGS]) == 0
    merged = tmp_path / "merged"
    assert main(["merge", *map(str, shards), "--out", str(merged), "--wide"]) == 0
    assert {r["student"]: [r[p] for p in probes]
            for r in read_gradebook(merged / "gradebook.csv")} == by_student


def test_the_bundles_wheel_installer(tmp_path: Path) -> None:
    """install_wheels.py (stdlib only, run by the bundles where pip may be missing) unpacks
    wheels, .data/purelib included, refuses members that leave the target, and warns about
    wheels of another Python or machine (PEP 425 tags)."""
    here = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    machine = platform.machine()
    assert install_wheels.compatible("sockgrade-0.1.0-py3-none-any.whl")
    assert install_wheels.compatible(f"psutil-7.2.2-cp36-abi3-manylinux2010_{machine}.whl")
    assert install_wheels.compatible(f"pyyaml-6.0.4-{here}-{here}-manylinux2014_{machine}.whl")
    assert not install_wheels.compatible(f"pyyaml-6.0.4-cp39-cp39-manylinux2014_{machine}.whl")
    assert not install_wheels.compatible("pyyaml-6.0.4-py3-none-macosx_11_0_arm64.whl")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "demo-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("demo/__init__.py", "VALUE = 1\n")
        archive.writestr("demo-1.0.data/purelib/demo_extra.py", "VALUE = 2\n")
        archive.writestr("demo-1.0.data/scripts/demo", "#!/bin/sh\n")
        archive.writestr("demo-1.0.dist-info/METADATA", "Name: demo\n")
    with zipfile.ZipFile(wheels / "odd-1.0-cp39-cp39-manylinux2014_x86_64.whl", "w") as archive:
        archive.writestr("odd.py", "\n")
    site = tmp_path / "site"
    warnings = install_wheels.install(wheels, site)
    assert (site / "demo" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (site / "demo_extra.py").is_file() and not (site / "demo").joinpath("demo").exists()
    assert len(warnings) == 1 and "odd-1.0" in warnings[0]
    with zipfile.ZipFile(wheels / "evil-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("../escaped.py", "\n")
    with pytest.raises(OSError, match="leaves the target"):
        install_wheels.install(wheels, tmp_path / "site2")
    assert not (tmp_path / "escaped.py").exists()


def test_a_bundle_carries_the_assignment_and_its_course_probes(tmp_path: Path) -> None:
    """The kit holds the assignment file and its extra_probes module, and loads from there."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "tests" / "course" / "greeting_probes.py", course / "greeting_probes.py")
    text = load("tcp-echo-server").source.read_text().replace(
        'reference = "tcp_echo_server.py"',
        'reference = "tcp_echo_server.py"\nextra_probes = "greeting_probes.py"')
    (course / "ours.toml").write_text(text)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "sockgrade-0.1.0-py3-none-any.whl").write_bytes(b"stand-in")
    kit = tmp_path / "kit"
    name = autograder.stage_kit(load(str(course / "ours.toml")), kit, wheels)
    assert name == "ours.toml"
    assert sorted(p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()) == [
        "assignment/greeting_probes.py", "assignment/ours.toml", "install_wheels.py",
        "wheels/sockgrade-0.1.0-py3-none-any.whl"]
    bundled = load(str(kit / "assignment" / "ours.toml"))
    assert any(c.name.startswith("course/") for c in bundled.probes)
    outside = text.replace('extra_probes = "greeting_probes.py"', 'extra_probes = "../x.py"')
    (course / "outside.toml").write_text(outside)
    (tmp_path / "x.py").write_text((course / "greeting_probes.py").read_text())
    with pytest.raises(UsageError, match="inside the assignment's folder"):
        autograder.stage_kit(load(str(course / "outside.toml")), tmp_path / "kit2", wheels)
