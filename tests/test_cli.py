"""The sockgrade command line as a user runs it: exit statuses, one-line errors, report files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import BUGS, ROOT

from grader.bundle import ASSIGNMENTS_DIR, REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "tcp_echo_server.py"


def sockgrade(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("SOCKGRADE_SEED", None)
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd or ROOT, env=env)


def one_line_error(run: subprocess.CompletedProcess[str], *words: str) -> None:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sockgrade: "), run.stderr
    for word in words:
        assert word in lines[0]


def test_list_assignments_and_probes() -> None:
    run = sockgrade("list")
    assert run.returncode == 0
    assert any(line.startswith("tcp-echo-server ") for line in run.stdout.splitlines())
    run = sockgrade("list", "tcp-echo-server")
    assert run.returncode == 0
    assert "tcp-echo-server/partial/one-byte-writes" in run.stdout
    assert "informational" in run.stdout and "weight" in run.stdout


def test_check_reference_passes_with_reports(tmp_path: Path) -> None:
    junit, report = tmp_path / "r.xml", tmp_path / "r.json"
    run = sockgrade("check", "tcp-echo-server", "--reference", "--junit", str(junit),
                    "--json", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED" in run.stdout and "\x1b[" not in run.stdout
    assert junit.read_text().startswith("<?xml")
    assert json.loads(report.read_text())["status"] == "passed"


def test_check_known_bug_exits_1_with_evidence_and_hint() -> None:
    run = sockgrade("check", "tcp-echo-server", str(BUGS / "tcp-echo-server" / "one_recv.py"))
    assert run.returncode == 1
    assert "FAIL  tcp-echo-server/partial/one-byte-writes" in run.stdout
    assert "expected: " in run.stdout and "actual: " in run.stdout and "hint: " in run.stdout


def test_check_a_folder_uses_the_entry_point(tmp_path: Path) -> None:
    folder = tmp_path / "alice"
    folder.mkdir()
    shutil.copy(REFERENCE, folder / "server.py")
    shutil.copy(REFERENCE, folder / "helper.py")
    run = sockgrade("check", "tcp-echo-server", str(folder), "--select", "echo/*")
    assert run.returncode == 0, run.stdout + run.stderr


def test_check_a_folder_without_entry_point_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b.py").write_text("")
    one_line_error(sockgrade("check", "tcp-echo-server", str(tmp_path)), "server.py")


def test_check_any_command(tmp_path: Path) -> None:
    run = sockgrade("check", "tcp-echo-server", "--select", "echo/*", "--",
                    sys.executable, str(REFERENCE), "{host}", "{port}", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_check_client_reference() -> None:
    assert sockgrade("check", "tcp-echo-client", "--reference").returncode == 0


def test_teachers_own_assignment_file(tmp_path: Path) -> None:
    own = tmp_path / "echo.toml"
    own.write_text((ASSIGNMENTS_DIR / "tcp-echo-server.toml").read_text()
                   .replace('id = "tcp-echo-server"', 'id = "my-echo"'))
    run = sockgrade("check", str(own), str(REFERENCE), "--select", "echo/*")
    assert run.returncode == 0 and "my-echo/echo/one-message" in run.stdout


def test_seed_is_shown_and_replays(tmp_path: Path) -> None:
    def sent(seed: str) -> list[str]:
        path = tmp_path / f"{seed}.json"
        run = sockgrade("check", "tcp-echo-server", "--reference", "--seed", seed,
                        "--select", "echo/one-message", "--json", str(path))
        assert f"seed: {seed}" in run.stdout
        data = json.loads(path.read_text())
        assert data["seed"] == int(seed)
        probe = next(p for p in data["probes"] if p["name"] == "one-message")
        return [step.split("s ", 1)[1] for step in probe["transcript"]]

    assert sent("42") == sent("42")
    assert sent("42") != sent("43")


def test_verbose_shows_transcripts() -> None:
    run = sockgrade("check", "tcp-echo-server", "--reference", "--select", "echo/one-message",
                    "--verbose")
    assert "sent b'hello sockgrade" in run.stdout and "bytes back" in run.stdout


@pytest.mark.parametrize(("args", "words"), [
    (("check", "tcp-echo-server", "no/such/file.py"), ("not found",)),
    (("check", "no-such-lab", "x.py"), ("unknown assignment", "tcp-echo-server")),
    (("check", "tcp-echo-server"), ("no submission",)),
    (("check", "tcp-echo-server", "--reference", "--select", "nothing/*"), ("no probe",)),
    (("check", "tcp-echo-server", "--reference", "--seed", "abc"), ("--seed",)),
    (("list", "missing.toml"), ("not found",)),
])
def test_bad_input_is_one_line(args: tuple[str, ...], words: tuple[str, ...]) -> None:
    one_line_error(sockgrade(*args), *words)


def test_malformed_and_invalid_assignment_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("id = [unclosed\n")
    one_line_error(sockgrade("list", str(bad)), "malformed TOML")
    bad.write_text('id = "x"\nrole = "server"\nsuite = "stream-echo"\ntimeout = 3\n')
    one_line_error(sockgrade("list", str(bad)), "'timeout'", "unknown key")
    bad.write_text('id = "x"\nrole = "server"\nsuite = "stream-echo"\n[timeouts]\nreply = -1\n')
    one_line_error(sockgrade("list", str(bad)), "timeouts.reply", "positive")
    bad.write_text('id = "x"\nrole = "server"\nsuite = "stream-echo"\n[probes."echo/nope"]\n')
    one_line_error(sockgrade("list", str(bad)), "probes.echo/nope", "no such probe")
    bad.write_text('id = "x"\nrole = "peer"\nsuite = "stream-echo"\n')
    one_line_error(sockgrade("list", str(bad)), "role")


def test_missing_command_is_a_usage_error(tmp_path: Path) -> None:
    one_line_error(sockgrade("check", "tcp-echo-server", "--", str(tmp_path / "no-such-binary"),
                             "{host}", "{port}"), "command not found")


def test_grader_fault_is_an_error_not_a_failure(tmp_path: Path) -> None:
    # the grader's interpreter is missing: the machine's fault, never the student's
    run = sockgrade("check", "tcp-echo-server", str(REFERENCE), "--select", "echo/*",
                    "--python", str(tmp_path / "no-python"))
    assert run.returncode == 2
    assert "ERROR tcp-echo-server/startup/listens" in run.stdout
    assert "cannot start" in run.stdout and "does not count against" in run.stdout
    assert "score 0/0" in run.stdout


def test_reference_command_runs_the_reference_server() -> None:
    from grader.launch.base import bound_endpoints
    from grader.net import connect, free_port
    from grader.probes.common import wait_for

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "reference", "tcp-echo-server",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        import time

        import psutil

        def listening() -> bool | None:
            pids = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
            return True if any(e.port == port for e in bound_endpoints(pids)) else None

        assert wait_for(listening, deadline=time.monotonic() + 10)
        with connect("127.0.0.1", port, timeout=2) as conn:
            conn.send_all(b"ping", deadline=time.monotonic() + 2)
            assert conn.read_exactly(4, deadline=time.monotonic() + 2).data == b"ping"
    finally:
        os.killpg(proc.pid, 9)  # sockgrade killed outright: its reference must not outlive it
        proc.wait()
    gone = wait_for(lambda: True if not [p for p in psutil.process_iter(["cmdline"])
                                         if f"tcp_echo_server.py 127.0.0.1 {port}"
                                         in " ".join(p.info["cmdline"] or ())] else None,
                    deadline=time.monotonic() + 10)
    assert gone, "the reference server outlived a killed 'sockgrade reference'"


def test_a_compiled_program_or_c_source_run_as_python_gets_a_hint_naming_it(tmp_path: Path) -> None:
    elf = tmp_path / "server.py"
    shutil.copy("/bin/true", elf)  # an ELF executable where Python source was expected
    source = tmp_path / "server.c"
    source.write_text("#include <stdio.h>\nint main(void) { return 0; }\n")
    run = sockgrade("check", "tcp-echo-server", str(elf))
    assert run.returncode == 1 and "compiled program, not Python source" in run.stdout, run.stdout
    run = sockgrade("check", "tcp-echo-server", str(source))
    assert run.returncode == 1 and "C/C++ source, run as Python" in run.stdout, run.stdout


def test_a_command_without_port_is_one_line_and_options_after_the_separator_are_noted() -> None:
    one_line_error(sockgrade("check", "tcp-echo-server", "--", sys.executable, str(REFERENCE),
                             "{host}"), "has no {port}")
    run = sockgrade("check", "tcp-echo-server", "--select", "echo/one-message", "--",
                    sys.executable, str(REFERENCE), "{host}", "{port}", "--json", "x.json")
    assert "--json comes after --, so it is passed to the program" in run.stderr
    assert "{port} --json x.json" in run.stdout  # it went to the program, as the note says


def test_a_server_that_exits_after_its_first_client_is_told_to_loop(tmp_path: Path) -> None:
    program = tmp_path / "server.py"
    program.write_text(
        "import socket, sys\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind((sys.argv[1], int(sys.argv[2])))\n"
        "s.listen()\n"
        "conn, _ = s.accept()\n"
        "while data := conn.recv(1024):\n"
        "    conn.sendall(data)\n")
    run = sockgrade("check", "tcp-echo-server", str(program), "--select", "echo/many-messages")
    assert run.returncode == 1
    assert "exited by itself after serving: a server loops on accept()" in run.stdout, run.stdout
