"""The assignment model: lab suites, typed probe settings, self-ordering probes, course probes.

Loading is checked in-process (milliseconds); what a teacher sees is checked
through the command line (exit status 2, one line naming file, key and
reason); course probes and a probe added through the public API are graded
end to end against the bundled reference.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT
from test_cli import one_line_error, sockgrade

from grader.assignment import bundled, load
from grader.bundle import ASSIGNMENTS_DIR
from grader.errors import AssignmentError
from grader.probes import LabSuite, Param
from grader.probes.families import REGISTRY
from grader.probes.registry import Registry
from grader.verdict import Tier

ECHO = (ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text()
COURSE = ROOT / "tests" / "course" / "greeting_probes.py"


def _toml(tmp_path: Path, text: str, name: str = "own.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_bundled_assignment_names_its_lab_suite_and_runs_all_of_it() -> None:
    for path in bundled():
        assignment = load(str(path))
        assert assignment.suite == assignment.id
        assert [c.name for c in assignment.probes] != []
        assert {c.name for c in assignment.probes} == set(REGISTRY.suite(assignment.suite))


def test_a_file_that_lists_no_probe_runs_the_whole_suite(tmp_path: Path) -> None:
    bare = 'id = "bare"\nrole = "server"\nsuite = "tcp-echo-server"\n'
    assert [c.name for c in load(str(_toml(tmp_path, bare))).probes] == \
        [c.name for c in load("tcp-echo-server").probes]


def test_probes_listed_in_any_order_run_in_the_same_order(tmp_path: Path) -> None:
    head, _, tables = ECHO.partition('[probes."')
    blocks = ['[probes."' + b for b in tables.split('[probes."')]
    reversed_text = head + "".join(reversed([b if b.endswith("\n") else b + "\n" for b in blocks]))
    shuffled = load(str(_toml(tmp_path, reversed_text)))
    original = load("tcp-echo-server")
    assert [(c.name, c.weight, c.tier) for c in shuffled.probes] == \
        [(c.name, c.weight, c.tier) for c in original.probes]


def test_run_order_puts_every_probe_after_its_dependencies() -> None:
    for path in bundled():
        seen: set[str] = set()
        for config in load(str(path)).probes:
            assert set(config.spec.depends) <= seen, (path.stem, config.name)
            seen.add(config.name)


@pytest.mark.parametrize(("table", "key", "words"), [
    ('[probes."partial/backpressure"]\nparams = { bytse = 5 }\n',
     "probes.partial/backpressure.params.bytse", ("no such parameter", "bytes")),
    ('[probes."partial/backpressure"]\nparams = { bytes = "lots" }\n',
     "probes.partial/backpressure.params.bytes", ("expected an integer",)),
    ('[probes."partial/backpressure"]\nparams = { bytes = 1.5 }\n',
     "probes.partial/backpressure.params.bytes", ("expected an integer",)),
    ('[probes."resources/idle-cpu"]\nparams = { seconds = true }\n',
     "probes.resources/idle-cpu.params.seconds", ("expected a number",)),
    ('[probes."partial/backpressure"]\nparams = { bytes = -1 }\n',
     "probes.partial/backpressure.params.bytes", ("negative",)),
    ('[probes."echo/one-message"]\nenabled = false\n',
     "probes.echo/many-messages", ("depends on probe 'echo/one-message', which is disabled",)),
    ('[probes."echo/one-message"]\nenabled = "no"\n',
     "probes.echo/one-message.enabled", ("expected a boolean",)),
    ('[probes."framing/split-header"]\n',
     "probes.framing/split-header", ("no such probe", "family 'stream-echo' has it")),
])
def test_bad_probe_tables_are_rejected_with_key_and_reason(
        tmp_path: Path, table: str, key: str, words: tuple[str, ...]) -> None:
    path = _toml(tmp_path, 'id = "x"\nrole = "server"\nsuite = "tcp-echo-server"\n' + table)
    with pytest.raises(AssignmentError) as caught:
        load(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: key '{key}'"), message
    for word in words:
        assert word in message, message
    one_line_error(sockgrade("list", str(path)), key, *words)


def test_disabled_probes_do_not_run_and_overridden_params_render_in_the_requirement(
        tmp_path: Path) -> None:
    text = ECHO.replace('[probes."concurrency/second-client"]\nweight = 1\ntier = "informational"',
                        '[probes."concurrency/second-client"]\nenabled = false')
    text = text.replace('[probes."partial/backpressure"]\nweight = 1',
                        '[probes."partial/backpressure"]\nweight = 1\nparams = { bytes = 8388608 }')
    assignment = load(str(_toml(tmp_path, text)))
    names = [c.name for c in assignment.probes]
    assert "concurrency/second-client" not in names and "echo/one-message" in names
    backpressure = assignment.probe("partial/backpressure")
    assert backpressure.params == {"bytes": 8 * 1024 * 1024}
    assert "Under backpressure (8 MiB," in backpressure.requirement
    assert "(16 MiB," in load("tcp-echo-server").probe("partial/backpressure").requirement
    listing = sockgrade("list", str(tmp_path / "own.toml")).stdout
    assert re.search(r"bytes = 8 MiB \(default 16 MiB\): size of the payload", listing), listing


def test_params_are_declared_once_and_every_placeholder_names_one() -> None:
    registry = Registry()
    with pytest.raises(ValueError, match="not a declared parameter"):
        registry.probe("f", "a/b")(_documented("Sends {bytez}."))
    with pytest.raises(ValueError, match="twice"):
        registry.probe("f", "a/c", params=(Param("n", 1, "count", ""), Param("n", 2, "count", "")))
    for family in REGISTRY.families():
        for spec in REGISTRY.suite(family).values():
            assert "{" not in spec.render({}), (family, spec.name)


def _documented(doc: str):  # type: ignore[no-untyped-def]
    def probe(ctx) -> None:  # type: ignore[no-untyped-def]
        pass
    probe.__doc__ = doc
    return probe


def test_a_lab_suite_picks_up_a_new_family_probe_by_its_category() -> None:
    registry = Registry()
    for name in ("echo/one", "framing/x", "concurrency/a", "process/p", "startup/listens"):
        registry.probe("fam", name, depends=("startup/listens",) if name != "startup/listens"
                       else ())(_documented("Does it."))
    registry.lab_suite(LabSuite(name="lab", family="fam", include=("startup/*", "echo/*"),
                                tiers={"echo/one": Tier.INFORMATIONAL}))
    registry.probe("fam", "echo/two")(_documented("Also."))
    suite = registry.suite("lab")
    assert list(suite) == ["startup/listens", "echo/one", "echo/two"]
    assert suite["echo/one"].tier is Tier.INFORMATIONAL


ADD_PROBE = '''
import sys
from grader.probes.families import REGISTRY
from grader.cli import main

@REGISTRY.probe("stream-echo", "echo/added-through-the-api", depends=("echo/one-message",))
def added(ctx):
    """A probe added to the stream-echo family with the public decorator."""
    with ctx.connect() as conn:
        conn.send_all(b"api\\n", deadline=ctx.reply_deadline())
        assert conn.read_exactly(4, deadline=ctx.reply_deadline()).data == b"api\\n"

sys.exit(main(["check", "tcp-echo-server", "--reference", "--select", "echo/*",
               "--json", sys.argv[1]]))
'''


def test_a_probe_added_through_the_public_api_is_graded_with_no_assignment_edit(
        tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-c", ADD_PROBE, str(report)], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    probes = {p["id"]: p["outcome"] for p in json.loads(report.read_text())["probes"]}
    assert probes["tcp-echo-server/echo/added-through-the-api"] == "passed", probes


def _course_toml(tmp_path: Path, probes_file: str = "greeting_probes.py") -> Path:
    (tmp_path / "greeting_probes.py").write_text(COURSE.read_text())
    text = ECHO.replace('id = "tcp-echo-server"', 'id = "our-echo"').replace(
        'reference = "tcp_echo_server.py"',
        f'reference = "tcp_echo_server.py"\nextra_probes = "{probes_file}"')
    return _toml(tmp_path, text + '[probes."course/shouted-echo"]\nweight = 3\n'
                                  'params = { text = "GOOD MORNING" }\n')


def test_course_probes_next_to_a_copied_assignment_are_graded_end_to_end(tmp_path: Path) -> None:
    path = _course_toml(tmp_path)
    assignment = load(str(path))
    names = [c.name for c in assignment.probes]
    assert names[-2:] == ["course/shouted-echo", "course/upper-echo"]
    shouted = assignment.probe("course/shouted-echo")
    assert shouted.weight == 3 and "'GOOD MORNING'" in shouted.requirement
    report = tmp_path / "report.json"
    run = sockgrade("check", str(path), "--reference", "--select", "echo/one-message",
                    "--select", "course/*", "--json", str(report))
    outcomes = {p["id"]: (p["outcome"], p["tier"]) for p in json.loads(report.read_text())["probes"]}
    assert outcomes == {
        "our-echo/startup/listens": ("passed", "required"),
        "our-echo/echo/one-message": ("passed", "required"),
        "our-echo/course/shouted-echo": ("passed", "required"),
        "our-echo/course/upper-echo": ("failed", "informational"),
    }, run.stdout
    assert run.returncode == 0, run.stdout  # an informational failure is advice
    assert "course/upper-echo" in run.stdout and "upper-case the line" in run.stdout


@pytest.mark.parametrize(("source", "words"), [
    ("def broken(:\n", ("extra_probes", "greeting_probes.py:1:")),
    ("from grader.probes.course import probe\n\nraise RuntimeError('oops')\n",
     ("extra_probes", "greeting_probes.py:3:", "RuntimeError: oops")),
    ("x = 1\n", ("extra_probes", "declares no probe")),
    ("from grader.probes.course import probe\n\n"
     "@probe('c/a', depends=('c/b',))\ndef a(ctx):\n    'A.'\n\n"
     "@probe('c/b', depends=('c/a',))\ndef b(ctx):\n    'B.'\n",
     ("dependency cycle", "c/a -> c/b")),
    ("from grader.probes.course import probe\n\n"
     "@probe('echo/one-message')\ndef a(ctx):\n    'A.'\n", ("extra_probes", "already has")),
    ("from grader.probes.course import probe\n\n"
     "@probe('c/a', depends=('nowhere/x',))\ndef a(ctx):\n    'A.'\n", ("nowhere/x",)),
])
def test_errors_in_a_course_probe_file_name_its_path_and_line(
        tmp_path: Path, source: str, words: tuple[str, ...]) -> None:
    path = _course_toml(tmp_path)
    (tmp_path / "greeting_probes.py").write_text(source)
    text = path.read_text().split('[probes."course/shouted-echo"]')[0]
    path.write_text(text)
    one_line_error(sockgrade("check", str(path), "--reference"), *words)
