"""The package data (grader.bundle) and the commands that print it (catalogue, assignment show)."""

from __future__ import annotations

import tomllib

import pytest
from helpers import ROOT
from test_cli import sockgrade

from grader.bundle import ASSIGNMENTS_DIR, CATALOGUE, REFERENCE_DIR, catalogue_section
from grader.errors import UsageError


def test_data_lives_in_the_package() -> None:
    assert ASSIGNMENTS_DIR.is_relative_to(ROOT / "grader") and REFERENCE_DIR.is_relative_to(ROOT / "grader")
    assert (ASSIGNMENTS_DIR / "tcp-echo-server.toml").is_file()
    assert (REFERENCE_DIR / "tcp_echo_server.py").is_file()
    # the catalogue every requirement cites is the one the package ships
    assert CATALOGUE.resolve() == (ROOT / "docs" / "labs.md").resolve()


@pytest.mark.parametrize("key", ["§7", "7", "chat-server", " §7 "])
def test_catalogue_section_by_number_or_id(key: str) -> None:
    section = catalogue_section(key)
    assert section.startswith("## §7 chat-server — Chat server\n")
    assert "## §8" not in section and section.endswith("\n") and not section.endswith("\n\n")


def test_catalogue_section_by_heading_and_unknown() -> None:
    assert catalogue_section("starting programs").startswith("## Starting programs\n")
    with pytest.raises(UsageError, match=r"no section '99'.*§18 port-scanner"):
        catalogue_section("99")


def test_catalogue_command() -> None:
    done = sockgrade("catalogue", "udp-echo-client")  # an assignment id: its lab's section (15)
    assert done.returncode == 0 and done.stdout.startswith("## §15 udp-echo-client"), done.stdout[:200]
    done = sockgrade("catalogue", "nope")
    assert done.returncode == 2 and "no section 'nope'" in done.stderr


def test_assignment_show_prints_the_shipped_file() -> None:
    done = sockgrade("assignment", "show", "chat-server")
    assert done.returncode == 0
    assert done.stdout == (ASSIGNMENTS_DIR / "chat-server.toml").read_text(encoding="utf-8")
    assert tomllib.loads(done.stdout)["id"] == "chat-server"
    done = sockgrade("assignment", "show", "no-such-lab")
    assert done.returncode == 2 and "unknown assignment 'no-such-lab'" in done.stderr
