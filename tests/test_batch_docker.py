"""``sockgrade batch --runner docker``: the same class folder of 30 mixed submissions (hostile
programs included) gives 30 rows with the same statuses as the local runner, a pinned port
grades in parallel, and no container or network is left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import xmlschema
from batchkit import QUICK_ARGS, REFERENCE, SIZE, build
from helpers import TESTS
from test_batch import batch, check_rows, manifest, tree_digest

from grader.classroom.gradebook import read_gradebook

pytestmark = pytest.mark.docker

IMAGE = "sockgrade/debian-python:bookworm"
SCHEMA = xmlschema.XMLSchema(str(TESTS / "schemas" / "junit-10.xsd"))


def _leftovers() -> list[str]:
    """Containers and networks this process's Docker launchers still own."""
    import docker

    from grader.launch import leftovers

    client = docker.from_env()
    try:
        label = f"{leftovers.OWNER_LABEL}={leftovers.owner_id()}"
        # the engine's list alone: docker-py's containers.list() then inspects each container
        found = [c["Names"][0].lstrip("/")
                 for c in client.api.containers(all=True, filters={"label": label})]
        found += [n.name for n in client.networks.list(filters={"label": label})]
        return found
    finally:
        client.close()


def test_thirty_mixed_submissions_give_thirty_rows_under_docker(tmp_path: Path) -> None:
    folder = tmp_path / "submissions"
    expect = build(folder)
    before = tree_digest(folder)
    out = tmp_path / "out"
    assert batch("tcp-echo-server", folder, "--out", out, "--jobs", "2", "--runner", "docker",
                 "--image", IMAGE, *QUICK_ARGS) == 0
    assert tree_digest(folder) == before
    rows = check_rows(out, expect)
    assert len(rows) == SIZE
    assert not [s for s, r in rows.items() if r["status"] == "error"
                and expect[s].status is not None]
    SCHEMA.validate(str(out / "junit.xml"))
    assert manifest(out)["runner"] == "docker"
    assert _leftovers() == []


def test_pinned_port_grades_in_parallel_under_docker(tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        shutil.copy(REFERENCE, folder / f"{name}.py")
    out = tmp_path / "out"
    assert batch("tcp-echo-server", folder, "--out", out, "--jobs", "2", "--port", "5000",
                 "--runner", "docker", "--image", IMAGE, *QUICK_ARGS) == 0
    assert manifest(out)["jobs"] == 2
    assert [r["status"] for r in read_gradebook(out / "gradebook.csv")] == ["passed"] * 4
    assert _leftovers() == []
