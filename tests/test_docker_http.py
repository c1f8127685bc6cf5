"""http-server (docs/labs.md §11) under ``--runner docker``: the reference passes every probe,
``{root}`` and the secret beside it (a grader-owned folder mounted at the same path) are there
inside the container, so the traversal bugs still reach the secret, and the verdicts are those
of a local run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from dockerkit import docker_image, docker_launcher, docker_leftovers  # noqa: F401
from helpers import BUGS, assert_known_bug, grade, not_passed, signature
from test_lab_http import KNOWN_BUGS, LAB, SKIPPED

from grader.verdict import Outcome

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_image")]

#: The bugs graded in a container too: traversal through the mounted parent folder, an
#: absolute path inside the container's view, a short send() through the sandbox network,
#: requests split across segments over the bridge.
IN_DOCKER = ("naive_join", "strips_one_slash", "send_not_sendall", "one_recv")


def test_reference_and_bugs_have_local_verdicts_under_docker() -> None:
    with docker_launcher() as launcher, ThreadPoolExecutor(2) as pool:
        reference = pool.submit(grade, LAB, launcher=launcher)
        bugs = {bug: pool.submit(grade, LAB, BUGS / LAB / f"{bug}.py", launcher=launcher)
                for bug in IN_DOCKER}
        results = {bug: future.result() for bug, future in bugs.items()}
        ref = reference.result()
    assert ref.runner == "docker"
    assert not_passed(ref) == set() and ref.status == "passed", [
        (v.probe_id, v.reason) for v in ref.verdicts if v.reason]
    local = grade(LAB)
    assert signature(ref) == signature(local)
    assert all(v.outcome is Outcome.PASSED for v in ref.verdicts)
    for bug, result in results.items():
        expected, reasons = KNOWN_BUGS[bug]
        assert result.runner == "docker"
        assert_known_bug(result, expected, SKIPPED.get(bug, set()), reasons)
    assert docker_leftovers() == []
