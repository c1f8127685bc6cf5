"""The README's install lines, run: a wheel (and ``pip install git+URL``) works like the editable install.

Theory of operation: the source tree as git sees it (tracked and new, not
ignored, files; links kept as links) is copied to a temporary folder and
committed there, so nothing built or cached in the working tree leaks in and
``git+file://`` can stand in for the README's ``git+https://`` URL.  The
README's install block (after the ``<!-- install: ... -->`` marker) is parsed
line by line; every line must be one this test knows how to run, so the
README cannot drift from what is tested.  Each install goes into a fresh
virtual environment without the system's site-packages, its dependencies from
the package index, and every command runs from an empty temporary folder with
no PYTHONPATH: only the installed package can answer.  From the wheel, the
bundled reference is graded (every probe passes) and a known-bug program
(tests/bugs/tcp-echo-server/dies_on_recv_reset.py, copied out) fails exactly
the probes tests/test_tcp_echo_server.py says it fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import BUGS, ROOT
from test_tcp_echo_server import KNOWN_BUGS

from grader import __version__

#: Two fresh environments, a build and two gradings: about 40 s of CPU, minutes on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_wheel")]  # one worker, one snapshot

#: The README's install block: the fenced block right after this marker.
MARKER = "<!-- install:"
#: The known bug graded from the wheel: self-contained (no helper module beside it).
BUG = "dies_on_recv_reset"
#: Seconds one pip install (dependencies from the index) or build may take.
INSTALL_TIMEOUT = 300


def readme_install_lines() -> list[list[str]]:
    """The commands of the README's install block, split into words (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    at = text.index(MARKER)
    block = re.search(r"```sh\n(?P<body>.*?)```", text[at:], re.S)
    assert block is not None, "no ```sh block after the install marker in README.md"
    return [shlex.split(line, comments=True) for line in block["body"].splitlines()
            if shlex.split(line, comments=True)]


def _env() -> dict[str, str]:
    """The environment of a user who never saw the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(words: list[str], cwd: Path, *, timeout: float = INSTALL_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(words, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (
        f"{done.args} -> {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source tree as git sees it, committed in a fresh repository of its own."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    target = tmp_path_factory.mktemp("source") / "sockgrade"
    for name in filter(None, listed.split("\0")):
        source, copy = ROOT / name, target / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree, not yet in the index
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-c", "commit.gpgsign=false"]
    for words in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run([*git, *words], cwd=target, check=True, capture_output=True)
    return target


def fresh_venv(folder: Path) -> Path:
    """A new virtual environment (no system site-packages); returns its bin folder."""
    ok(run([sys.executable, "-m", "venv", str(folder)], folder.parent))
    return folder / "bin"


def test_readme_install_block_is_known() -> None:
    """Every line of the README's install block is one the tests below run."""
    lines = readme_install_lines()
    kinds = [_kind(words) for words in lines]
    assert kinds == ["git", "build", "wheel", "version", "check"], lines
    wheel = lines[2][-1]
    assert wheel == f"dist/sockgrade-{__version__}-py3-none-any.whl", (
        f"README installs {wheel}, but this version builds sockgrade-{__version__}")


def _kind(words: list[str]) -> str:
    if words[:2] == ["pip", "install"] and words[-1].startswith("sockgrade @ git+"):
        return "git"
    if words == ["python", "-m", "build"]:
        return "build"
    if words[:2] == ["pip", "install"] and words[-1].startswith("dist/") and words[-1].endswith(".whl"):
        return "wheel"
    if words == ["sockgrade", "--version"]:
        return "version"
    if words[:2] == ["sockgrade", "check"]:
        return "check"
    return f"unknown: {words}"


def test_wheel_grades_reference_and_known_bug(snapshot: Path, tmp_path: Path) -> None:
    """README: build, install the wheel, then grade the bundled reference and a known bug from it."""
    lines = {_kind(words): words for words in readme_install_lines()}
    ok(run([sys.executable, *lines["build"][1:]], snapshot))  # "python -m build", as a user runs it
    wheel = snapshot / lines["wheel"][-1]
    assert wheel.is_file(), sorted(p.name for p in (snapshot / "dist").iterdir())
    bin_dir = fresh_venv(tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    ok(run([str(bin_dir / "python"), "-m", *lines["wheel"][:-1], str(wheel)], work))

    where = ok(run([str(bin_dir / "python"), "-c", "import grader; print(grader.__file__)"], work))
    assert Path(where.strip()).is_relative_to(tmp_path / "venv"), where
    sockgrade = str(bin_dir / "sockgrade")
    assert ok(run([sockgrade, *lines["version"][1:]], work)).strip() == f"sockgrade {__version__}"
    listed = ok(run([sockgrade, "list"], work))
    assert "tcp-echo-server" in listed and "chat-server" in listed, listed
    section = ok(run([sockgrade, "catalogue", "1"], work))
    assert section.startswith("## §1 tcp-echo-server"), section[:200]
    shown = tomllib.loads(ok(run([sockgrade, "assignment", "show", "chat-server"], work)))
    assert shown["id"] == "chat-server"

    check = lines["check"]
    done = run([sockgrade, *check[1:], "--json", "reference.json"], work)
    report = json.loads((work / "reference.json").read_text())
    assert done.returncode == 0, done.stdout[-3000:]
    assert report["counts"]["passed"] == len(report["probes"]) > 10, report["counts"]
    assert report["submission"].startswith("reference/")

    shutil.copy(BUGS / "tcp-echo-server" / f"{BUG}.py", work / "server.py")
    done = run([sockgrade, "check", "tcp-echo-server", "server.py", "--json", "bug.json"], work)
    report = json.loads((work / "bug.json").read_text())
    outcomes = {f"{p['category']}/{p['name']}": p["outcome"] for p in report["probes"]}
    failing, skipped, _ = KNOWN_BUGS[BUG]
    assert done.returncode == 1, done.stdout[-3000:]
    assert {name for name, outcome in outcomes.items() if outcome == "failed"} == failing
    assert {name for name, outcome in outcomes.items() if outcome == "skipped"} == skipped


def test_git_url_install_carries_the_data(snapshot: Path, tmp_path: Path) -> None:
    """README: ``pip install "sockgrade @ git+URL"`` (URL -> a local copy) ships assignments,
    references and the catalogue."""
    words = next(w for w in readme_install_lines() if _kind(w) == "git")
    assert re.fullmatch(r"sockgrade @ git\+https://github\.com/OWNER/sockgrade@v\d+", words[-1]), words
    url = f"sockgrade @ git+file://{snapshot}"  # the copy has no tag: its one commit
    bin_dir = fresh_venv(tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    # pip 23 reads "name @ git+file:///..." on its command line as a path: give it the URL
    ok(run([str(bin_dir / "python"), "-m", *words[:-1], url.split(" @ ", 1)[1]], work))
    sockgrade = str(bin_dir / "sockgrade")
    listed = ok(run([sockgrade, "list"], work)).splitlines()
    bundled = sorted((ROOT / "grader" / "data" / "assignments").glob("*.toml"))
    assert len(listed) == len(bundled), listed
    path = Path(ok(run([sockgrade, "catalogue", "--path"], work)).strip())
    assert path.is_relative_to(tmp_path / "venv") and not path.is_symlink()
    assert path.read_text(encoding="utf-8") == (ROOT / "docs" / "labs.md").read_text(encoding="utf-8")
    toml = Path(ok(run([sockgrade, "assignment", "path", "udp-echo-server"], work)).strip())
    assert toml.is_relative_to(tmp_path / "venv")
    done = run([sockgrade, "check", "udp-echo-server", "--reference"], work)
    assert done.returncode == 0, done.stdout[-3000:]
