"""port-scanner under ``--runner docker``: the scanned range is the container's own loopback.

The container starts held (its shell waits for one line on stdin) while the
grader makes the open and silent ports in the container's network namespace;
the scanner then finds them on its own loopback, so verdicts match the local
runner's (tests/test_lab_port_scanner.py) probe for probe.
"""

from __future__ import annotations

import pytest
from dockerkit import docker_image, docker_launcher, docker_leftovers, grade_in_docker  # noqa: F401
from helpers import assert_known_bug
from test_lab_port_scanner import KNOWN_BUGS, LAB

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_image")]

#: The known bugs graded under Docker too: every probe but the slow hangs (no_timeout waits
#: out two time bounds; its verdicts come from the same code path as timeout_is_open's).
DOCKER_BUGS = ("timeout_is_open", "unsorted_set", "keeps_connections", "keeps_exceptions",
               "off_by_one", "address_only", "traceback_unresolvable", "prints_closed")


def test_reference_and_known_bugs_get_the_local_verdicts_under_docker() -> None:
    _, results = grade_in_docker(LAB, DOCKER_BUGS, jobs=3)
    for bug, result in results.items():
        expected_failed, expected_skipped, reasons = KNOWN_BUGS[bug]
        assert_known_bug(result, expected_failed | expected_skipped, expected_skipped, reasons)
    assert docker_leftovers() == []
