"""http-server (docs/labs.md §11) under ``--runner docker``: the reference passes every probe,
``{root}`` and the secret beside it (a grader-owned folder mounted at the same path) are there
inside the container, so the traversal bugs still reach the secret, and the verdicts are those
of a local run."""

from __future__ import annotations

import pytest
from dockerkit import docker_image, docker_launcher, docker_leftovers, grade_in_docker  # noqa: F401
from helpers import assert_known_bug, grade, signature
from test_lab_http import KNOWN_BUGS, LAB, SKIPPED

from grader.verdict import Outcome

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_image")]

#: The bugs graded in a container too: traversal through the mounted parent folder, an
#: absolute path inside the container's view, a short send() through the sandbox network,
#: requests split across segments over the bridge.
IN_DOCKER = ("naive_join", "strips_one_slash", "send_not_sendall", "one_recv")


def test_reference_and_bugs_have_local_verdicts_under_docker() -> None:
    ref, results = grade_in_docker(LAB, IN_DOCKER)
    local = grade(LAB)
    assert signature(ref) == signature(local)
    assert all(v.outcome is Outcome.PASSED for v in ref.verdicts)
    for bug, result in results.items():
        expected, reasons = KNOWN_BUGS[bug]
        assert result.runner == "docker"
        assert_known_bug(result, expected, SKIPPED.get(bug, set()), reasons)
    assert docker_leftovers() == []
