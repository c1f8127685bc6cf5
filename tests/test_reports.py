"""Report writers: JUnit XML validates against junit-10.xsd whatever the submission prints;
the JSON report follows its documented shape; the console report shows evidence and hints."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema
from helpers import BUGS, TESTS, grade
from rich.console import Console

from grader.report import console as console_report
from grader.report import jsonreport, junit
from grader.runner import GradeResult
from grader.verdict import Outcome

pytestmark = pytest.mark.xdist_group("test_reports")  # one worker: its module fixtures are shared

SCHEMA = xmlschema.XMLSchema(str(TESTS / "schemas" / "junit-10.xsd"))


@pytest.fixture(scope="module")
def results() -> dict[str, GradeResult]:
    return {
        "reference": grade("tcp-echo-server"),
        "bug": grade("tcp-echo-server", BUGS / "tcp-echo-server" / "dies_on_reset.py"),
        "noisy": grade("tcp-echo-server", TESTS / "programs" / "noisy_server.py",
                       select=("startup/*", "echo/*")),
        "crash": grade("tcp-echo-server", BUGS / "tcp-echo-server" / "python2.py"),
    }


def with_error(result: GradeResult) -> GradeResult:
    """The same result with one verdict turned into a grader error (the writer is pure)."""
    first = replace(result.verdicts[1], outcome=Outcome.ERROR, excused=True,
                    reason="grader error: machine out of ports")
    return replace(result, verdicts=(result.verdicts[0], first, *result.verdicts[2:]))


def test_junit_validates_against_the_schema(results: dict[str, GradeResult]) -> None:
    everything = [*results.values(), with_error(results["reference"])]
    for result in everything:
        SCHEMA.validate(junit.render([result]))
    SCHEMA.validate(junit.render(everything))


def test_junit_structure(results: dict[str, GradeResult]) -> None:
    root = ET.fromstring(junit.render([results["bug"], with_error(results["reference"])]))
    suites = root.findall("testsuite")
    assert len(suites) == 2
    bug = suites[0]
    names = [case.get("name") for case in bug.findall("testcase")]
    assert len(names) == len(set(names)) == len(results["bug"].verdicts)
    assert all(case.get("classname", "").startswith("tcp-echo-server.")
               for case in bug.findall("testcase"))
    failure = bug.find("testcase[@name='client-reset']/failure")
    assert failure is not None and "\n" not in failure.get("message", "")
    assert "hint:" in (failure.text or "") and "Traceback" in (failure.text or "")
    props = {p.get("name"): p.get("value") for p in bug.iter("property")}
    assert props["seed"] == str(results["bug"].seed)
    assert props["assignment"] == "tcp-echo-server"
    errored = suites[1].find("testcase/error")
    assert errored is not None and "grader error" in errored.get("message", "")


def test_skipped_probes_carry_their_reason(results: dict[str, GradeResult]) -> None:
    root = ET.fromstring(junit.render([results["crash"]]))
    skipped = root.findall(".//skipped")
    messages = [s.get("message") or "" for s in skipped]
    assert messages and all(m.startswith("depends on tcp-echo-server/") for m in messages)
    assert "startup/listens, which failed" in messages[0]


def test_hostile_output_stays_valid_and_clean(results: dict[str, GradeResult]) -> None:
    noisy = results["noisy"]
    assert b"\x1b[31m" in noisy.output.stdout
    text = junit.render([noisy])
    SCHEMA.validate(text)
    out = ET.fromstring(text).find("testsuite/system-out")
    assert out is not None and out.text and "red" in out.text
    assert "\x1b" not in text and "\x00" not in text
    assert "<testcase name='x'/>" in out.text  # escaped as text, not markup


def test_json_report_shape(results: dict[str, GradeResult]) -> None:
    data = json.loads(jsonreport.render(results["bug"]))
    assert data["format"] == "sockgrade-result/1"
    assert data["status"] == "failed" and data["seed"] == results["bug"].seed
    assert data["counts"]["failed"] >= 1
    probe = next(p for p in data["probes"] if p["name"] == "client-reset")
    assert probe["outcome"] == "failed" and probe["hint"] and probe["evidence"]["details"]
    assert set(probe) >= {"id", "category", "tier", "weight", "time", "requirement", "reason"}


def test_console_report_shows_evidence_hint_and_score(results: dict[str, GradeResult]) -> None:
    buffer = io.StringIO()
    console_report.render(results["bug"], Console(file=buffer, width=200, no_color=True))
    text = buffer.getvalue()
    assert "FAIL  tcp-echo-server/robustness/client-reset" in text
    assert "hint: catch ConnectionResetError" in text
    assert "seed: " in text and "score " in text and "FAILED" in text
    assert "\x1b[" not in text


def test_console_report_of_hostile_output_has_no_escapes(results: dict[str, GradeResult],
                                                         tmp_path: Path) -> None:
    buffer = io.StringIO()
    console_report.render(results["noisy"], Console(file=buffer, width=120, no_color=True),
                          verbose=True)
    assert "\x1b" not in buffer.getvalue()


def test_a_failed_informational_probe_is_advice_not_a_failure() -> None:
    """The iterative echo server fails only the informational second-client probe: the run is
    PASSED with no failure anywhere (console, JUnit, JSON counts), and the advice is shown."""
    result = grade("tcp-echo-server", BUGS / "tcp-echo-server" / "iterative.py")
    advice = [v for v in result.verdicts if v.advice]
    assert [f"{v.category}/{v.name}" for v in advice] == ["concurrency/second-client"]
    assert result.status == "passed" and result.count(Outcome.FAILED) == 0
    assert result.advice_count == 1
    root = ET.fromstring(junit.render([result]))
    assert root.findall(".//failure") == []
    skipped = root.find(".//testcase[@name='second-client']/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("informational")
    SCHEMA.validate(junit.render([result]))
    data = json.loads(jsonreport.render(result))
    assert data["counts"]["failed"] == 0 and data["counts"]["advice"] == 1
    out = io.StringIO()
    console_report.render(result, Console(file=out, width=200, no_color=True))
    text = out.getvalue()
    assert "INFO  tcp-echo-server/concurrency/second-client" in text
    assert "1 advice" in text and "failed" not in text.splitlines()[-1]
