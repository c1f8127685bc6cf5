"""The Gradescope and PrairieLearn bundles, run as those platforms run them, in Docker.

``sockgrade gradescope`` builds the zip; a container from the local Debian
image (stdlib-only python3, no pip, no network) gets it laid out as
Gradescope does (``/autograder/source`` = the zip's contents,
``/autograder/submission`` = the student's files), runs ``setup.sh`` once and
``run_autograder`` per submission, and each ``results.json`` is validated
against tests/schemas/gradescope-results.json: the reference scores full
marks, a known-bug program fails exactly its probe.  ``sockgrade
prairielearn`` is run the same way with ``/grade/serverFilesCourse``,
``/grade/student`` and ``/grade/results``.  The bundled assignment hides
echo/binary, so the Gradescope test also shows the hidden probe in full
under ``visibility: hidden`` and nowhere in the student-facing top level.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dockerkit import _client, docker_image  # noqa: F401  (fixture)
from helpers import BUGS, ROOT
from test_formats import validate_gradescope, validate_prairielearn

from grader.assignment import load
from grader.settings import reference_submission

# one worker for the module: its fixtures (a built bundle) are shared
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("test_autograder_bundles")]

_REF = reference_submission(load("tcp-echo-server"))
REFERENCE = _REF.folder / str(_REF.entry)
DECODE_ONLY = BUGS / "tcp-echo-server" / "decode_only.py"
#: What each student hands in: file name -> program (decode_only.py imports its helper).
SUBMISSIONS = {
    "reference": {"server.py": REFERENCE},
    "bug": {"server.py": DECODE_ONLY, "_threaded.py": BUGS / "tcp-echo-server" / "_threaded.py"},
}


@pytest.fixture(scope="module")
def assignment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tcp-echo-server with echo/binary hidden (decode_only.py fails exactly that probe)."""
    text = load("tcp-echo-server").source.read_text()
    header = '[probes."echo/binary"]\n'
    path = tmp_path_factory.mktemp("bundle") / "echo-hidden.toml"
    path.write_text(text.replace(header, header + "hidden = true\n"))
    return path


@pytest.fixture(scope="module")
def gradescope_zip(assignment: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sockgrade gradescope`` run once: the bundle both Gradescope tests unpack."""
    bundle = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    built = sockgrade("gradescope", str(assignment), "--out", str(bundle))
    assert built.returncode == 0, built.stdout + built.stderr
    assert "wrote " in built.stdout
    return bundle


def sockgrade(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                          text=True, timeout=1200, cwd=ROOT, env=env)


class Box:
    """A throwaway container (no network) with files put in and read out."""

    def __init__(self, image: str) -> None:
        self.client = _client()
        self.container = self.client.containers.run(image, ["sleep", "900"], detach=True,
                                                    network_mode="none")

    def put(self, files: dict[str, tuple[bytes, int]]) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, (data, mode) in files.items():
                info = tarfile.TarInfo(name.lstrip("/"))
                info.size, info.mode = len(data), mode
                tar.addfile(info, io.BytesIO(data))
        assert self.container.put_archive("/", buffer.getvalue())

    def run(self, command: list[str], workdir: str) -> tuple[int, str]:
        code, output = self.container.exec_run(command, workdir=workdir)
        return code, output.decode("utf-8", "replace")

    def read(self, path: str) -> bytes:
        stream, _ = self.container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.getmembers()[0]
            handle = tar.extractfile(member)
            assert handle is not None
            return handle.read()

    def close(self) -> None:
        self.container.remove(force=True)
        self.client.close()


@pytest.fixture
def box(docker_image: str) -> Iterator[Box]:  # noqa: F811
    made = Box(docker_image)
    try:
        yield made
    finally:
        made.close()


def test_gradescope_bundle_grades_in_a_container(gradescope_zip: Path, box: Box) -> None:
    bundle = gradescope_zip
    assert bundle.stat().st_mode & 0o777 == 0o644
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)
        assert any(n.startswith("sockgrade/wheels/sockgrade-") for n in names)
        assert any(n.startswith("sockgrade/wheels/psutil-") for n in names)
        box.put({f"/autograder/source/{info.filename}": (archive.read(info),
                                                          (info.external_attr >> 16) & 0o777)
                 for info in archive.infolist()})
    code, out = box.run(["python3", "-m", "pip", "--version"], "/")
    assert code != 0, "the image is meant to have no pip: the bundle must not need it"
    code, out = box.run(["bash", "/autograder/source/setup.sh"], "/autograder/source")
    assert code == 0, out
    assert "sockgrade ready" in out
    # Gradescope copies run_autograder into /autograder when it builds the image.
    code, out = box.run(["cp", "/autograder/source/run_autograder", "/autograder/run_autograder"],
                        "/autograder")
    assert code == 0, out
    results = {}
    for label, handed_in in SUBMISSIONS.items():
        box.run(["rm", "-rf", "/autograder/submission"], "/")
        box.put({f"/autograder/submission/{name}": (path.read_bytes(), 0o644)
                 for name, path in handed_in.items()})
        code, out = box.run(["/autograder/run_autograder"], "/autograder")
        assert code == 0, out
        results[label] = json.loads(box.read("/autograder/results/results.json"))
        validate_gradescope(results[label])
    reference, bug = results["reference"], results["bug"]
    assert reference["extra_data"]["status"] == "passed", reference["output"]
    assert reference["score"] == reference["extra_data"]["max_score"] == 17
    assert all(t["status"] == "passed" for t in reference["tests"]), reference["tests"]
    failed = [t["name"] for t in bug["tests"] if t["status"] == "failed"]
    assert failed == ["echo/binary"], json.dumps([t for t in bug["tests"]
                                                  if t["status"] == "failed"], indent=1)
    assert bug["score"] == 16 and bug["extra_data"]["status"] == "failed"
    binary = next(t for t in bug["tests"] if t["name"] == "echo/binary")
    assert binary["visibility"] == "hidden" and "decodes bytes as text" in binary["output"]
    assert "echo/binary" not in bug["output"] and "decodes bytes" not in bug["output"]
    assert "1 hidden probe: 1 failed" in bug["output"]


def test_gradescope_bundle_reports_a_submission_with_nothing_to_run(gradescope_zip: Path,
                                                                    box: Box) -> None:
    with zipfile.ZipFile(gradescope_zip) as archive:
        box.put({f"/autograder/source/{i.filename}": (archive.read(i), (i.external_attr >> 16) & 0o777)
                 for i in archive.infolist()})
    assert box.run(["bash", "/autograder/source/setup.sh"], "/autograder/source")[0] == 0
    box.put({"/autograder/submission/notes.txt": (b"forgot the program\n", 0o644)})
    code, out = box.run(["bash", "/autograder/source/run_autograder"], "/autograder")
    assert code == 0, out
    data = json.loads(box.read("/autograder/results/results.json"))
    validate_gradescope(data)
    assert data["score"] == 0 and "no entry point 'server.py'" in data["output"]


def test_prairielearn_entrypoint_grades_in_a_container(assignment: Path, tmp_path: Path,
                                                       box: Box) -> None:
    out = tmp_path / "pl"
    built = sockgrade("prairielearn", str(assignment), "--out", str(out))
    assert built.returncode == 0, built.stdout + built.stderr
    files = {f"/grade/serverFilesCourse/sockgrade/{p.relative_to(out)}":
             (p.read_bytes(), p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_file()}
    box.put(files)
    results = {}
    for label, handed_in in SUBMISSIONS.items():
        box.run(["rm", "-rf", "/grade/student", "/grade/results"], "/")
        box.put({f"/grade/student/{name}": (path.read_bytes(), 0o644)
                 for name, path in handed_in.items()})
        code, log = box.run(["/grade/serverFilesCourse/sockgrade/run.sh"], "/grade")
        assert code == 0, log
        results[label] = json.loads(box.read("/grade/results/results.json"))
        validate_prairielearn(results[label])
    assert results["reference"]["gradable"] and results["reference"]["score"] == 1.0
    bug = results["bug"]
    assert bug["gradable"] and bug["score"] == pytest.approx(16 / 17)
    failed = [t["name"] for t in bug["tests"] if t["points"] < t["max_points"]]
    assert failed == ["hidden/probe-1"]  # PrairieLearn shows every test: the stand-in
    assert "echo/binary" not in json.dumps(bug) and "decodes bytes" not in json.dumps(bug)
