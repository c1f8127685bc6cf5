"""chat-client (docs/labs.md §16) under ``--runner docker``: the grader types on the client's
stdin over the container's attach connection (Program.write_stdin) and ends it with a
half-close (EOF), reads what it prints while it runs, and the verdicts are those of a local
run."""

from __future__ import annotations

import pytest
from dockerkit import docker_image, docker_launcher, docker_leftovers, grade_in_docker  # noqa: F401
from helpers import failed, skipped, verdict
from test_lab_chat_client import KNOWN_BUGS, LAB

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_image")]

#: The bugs graded in a container too: printing only after input() (stdin typed and left
#: idle through the attach connection, a hang in input()), and a line typed in pieces.
IN_DOCKER = ("prints_after_input", "stdin_chunk_as_line")


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
