"""file-transfer-client (docs/labs.md §17) under ``--runner docker``: the client reaches the
grader's listener through LaunchSpec.grader_ports, FILE (a grader-owned folder, mounted at the
same path) exists inside the container, and the verdicts are those of a local run."""

from __future__ import annotations

import pytest
from dockerkit import docker_image, docker_launcher, docker_leftovers, grade_in_docker  # noqa: F401
from helpers import failed, skipped, verdict
from test_lab_file_transfer_client import KNOWN_BUGS, LAB

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_image")]

#: The bugs graded in a container too: a short send through the sandbox network, a
#: traceback for a missing FILE inside the container, an RST across the bridge.
IN_DOCKER = ("send_not_sendall", "traceback_on_error", "resets_on_close")


def test_reference_and_bugs_have_local_verdicts_under_docker() -> None:
    _, results = grade_in_docker(LAB, IN_DOCKER)
    for bug, result in results.items():
        expected_failed, expected_skipped, reasons = KNOWN_BUGS[bug]
        assert failed(result) == expected_failed, (bug, [(v.probe_id, v.reason)
                                                         for v in result.verdicts if v.reason])
        assert skipped(result) == expected_skipped, bug
        for probe, words in reasons.items():
            v = verdict(result, probe)
            assert words in " ".join([v.reason, v.hint, *v.evidence.lines()]), (bug, probe, v.reason)
    assert docker_leftovers() == []
