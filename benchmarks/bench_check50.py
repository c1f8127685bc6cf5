"""Benchmark: grade time of sockgrade beside CS50's check50 on the same TCP echo server (issue 13).

Theory of operation: the script writes, into a temporary folder, a check50
checks package (``.cs50.yaml`` + ``__init__.py``) with seven checks that ask
what seven of sockgrade's tcp-echo-server probes ask: the server listens
(``start``), one message comes back (``echo``), a message written one byte
at a time comes back whole (``fragments``), 4 MiB written and read at the
same time come back intact (``large``), after the client's half-close the
server sends the rest and closes (``half_close``), a client that resets
(SO_LINGER 0) does not stop the server serving the next one (``reset``), and
all 256 byte values come back (``binary``).  Each check starts its own copy
of the server (``python server.py 127.0.0.1 PORT`` on a free port, as the
assignment's ``command`` does), waits for it to listen by reading
``/proc/net/tcp`` (no connection is spent on readiness), talks to it with
plain sockets whose every wait has a deadline, and stops it.  The six
checks after ``start`` depend on it, the way check50 checks are written
(``exists`` -> ``compiles`` -> ...); check50 runs them in parallel in a
process pool.

Then it alternates, ``--runs`` times (the first of the pair swapped each
round), two processes timed by wall clock from start to exit:
``check50 --dev CHECKS -o json`` in a temporary copy of the server's folder
(the bundled reference, ``grader/data/reference/tcp_echo_server.py``, copied
as ``server.py``; ``--dev`` implies ``--offline``: no network, no update
check, no dependency install), and ``python -m grader check tcp-echo-server
--reference`` (every probe, this source tree), and the same command with
``--select`` of the seven probes that ask what the seven checks ask (the
target is on the full grading; this row shows how much of the difference
is the probes check50 has no counterpart for).  All must pass every check,
or the run stops.  It prints the machine's core count and load average
first (figures depend on them), then median/min/max of each and the ratio
sockgrade/check50 beside its target (<= 0.5).  Beside wall time (the
target's measure) it reports the CPU time each grader used with its servers
(getrusage of the waited-for children), which load changes less: most of
sockgrade's wall time is fixed observation windows, most of check50's is
work, so load moves the two wall times differently.  Both run as installed
packages do, from compiled bytecode: every command gets a bytecode cache
of its own (``PYTHONPYCACHEPREFIX``; ``PYTHONDONTWRITEBYTECODE`` removed,
which some machines set and which would make a source tree compile all of
its modules at every start), filled by one untimed run of each grader.

``--verify`` proves the check50 side is a fair comparison instead of
timing it: the checks run once on the reference (all must pass) and once on
each of several known-bug servers from tests/bugs/tcp-echo-server (each
must fail the checks named for it), and a table of results is printed.

check50 is not a dependency of sockgrade: install it with
``pip install 'sockgrade[bench]'`` (or ``pip install check50``), or point
``--check50`` at its executable.

Run:  python benchmarks/bench_check50.py [--runs 5] [--check50 PATH] [--json FILE]
      python benchmarks/bench_check50.py --verify [--check50 PATH]
Exit status: 0 done (or verified), 1 a grader failed the reference or a
check misjudged a known bug, 2 bad input or check50 not found.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "grader" / "data" / "reference" / "tcp_echo_server.py"
BUGS = ROOT / "tests" / "bugs" / "tcp-echo-server"
#: The target: sockgrade's median grade time over check50's (issue 13).
TARGET_RATIO = 0.5
#: Seconds either grader may take for one run before the benchmark gives up on it.
RUN_TIMEOUT = 300.0
#: The check names, in declaration order.
CHECKS = ("start", "echo", "fragments", "large", "half_close", "reset", "binary")
#: The tcp-echo-server probe asking what each check asks (the "same seven" row).
COMPARABLE = {"start": "startup/listens", "echo": "echo/one-message",
              "fragments": "partial/one-byte-writes", "large": "partial/large-payload",
              "half_close": "shutdown/half-close", "reset": "robustness/client-reset",
              "binary": "echo/binary"}
#: --verify: known-bug server -> the checks it must fail (others may fail too).
KNOWN_BUGS: dict[str, tuple[str, ...]] = {
    "exits_immediately": ("start",),
    "one_recv": ("fragments", "large"),
    "adds_newline": ("echo",),
    "never_closes": ("half_close",),
    "endless_after_half_close": ("half_close",),
    "dies_on_reset": ("reset",),
    "decode_only": ("binary",),
    "decode_text": ("binary",),
}

CS50_YAML = """\
check50:
  checks: __init__.py
  files:
    - !require server.py
"""

#: The checks package's __init__.py (runs under check50's interpreter, not type-checked here).
CHECKS_SOURCE = '''\
"""TCP echo server checks, the check50 side of benchmarks/bench_check50.py (sockgrade)."""

import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

import check50

HOST = "127.0.0.1"
STARTUP = 5.0  # seconds until the server must listen (the assignment's startup timeout)
REPLY = 2.0  # seconds without progress before a reply counts as missing (its reply timeout)
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def listening(port):
    """True when some socket listens on ``port`` (read from /proc/net/tcp, no connection)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            continue
    return False


class Server:
    """``python server.py HOST PORT`` started in the check's folder; stopped on exit."""

    def __enter__(self):
        self.port = free_port()
        self.log = open("server.stderr", "wb")
        self.process = subprocess.Popen([sys.executable, "server.py", HOST, str(self.port)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self.log)
        try:
            self.wait_listening()
        except BaseException:
            self.__exit__()
            raise
        return self

    def wait_listening(self):
        deadline = time.monotonic() + STARTUP
        while not listening(self.port):
            if self.process.poll() is not None:
                raise check50.Failure(f"server.py exited with status {self.process.returncode} "
                                      f"before listening: {self.stderr()[-300:]}")
            if time.monotonic() >= deadline:
                raise check50.Failure(f"server.py did not listen on port {self.port} "
                                      f"within {STARTUP:g} s")
            time.sleep(0.01)  # polls the real condition; the deadline bounds it

    def stderr(self):
        self.log.flush()
        with open("server.stderr", "rb") as text:
            return text.read().decode("utf-8", "replace")

    def connect(self, nodelay=False):
        try:
            conn = socket.create_connection((HOST, self.port), timeout=REPLY)
        except OSError as exc:
            raise check50.Failure(f"cannot connect to port {self.port}: {exc}")
        if nodelay:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.log.close()


def read(conn, count, *, eof=False, deadline=30.0, cap=None):
    """Read ``count`` bytes (or, with ``eof``, until EOF, at most ``cap``): (data, how it ended).

    Each recv waits at most REPLY seconds; the whole read at most ``deadline`` seconds.
    """
    data = bytearray()
    limit = cap if eof else count
    end_by = time.monotonic() + deadline
    while len(data) < limit:
        left = end_by - time.monotonic()
        if left <= 0:
            return bytes(data), f"no end after {deadline:g} s"
        conn.settimeout(min(REPLY, left))
        try:
            chunk = conn.recv(min(1 << 20, limit - len(data)))
        except socket.timeout:
            return bytes(data), f"nothing more for {REPLY:g} s"
        except OSError as exc:
            return bytes(data), f"{type(exc).__name__}: {exc}"
        if not chunk:
            return bytes(data), "EOF"
        data += chunk
    if eof:
        return bytes(data), f"more than {cap} bytes, no EOF"
    return bytes(data), "complete"


def queued(conn):
    """Bytes already waiting on ``conn`` (a non-blocking read: no waiting).

    settimeout(0), not MSG_DONTWAIT: with a timeout set, Python polls for up to the
    timeout before every recv, whatever its flags.
    """
    conn.settimeout(0)
    try:
        return conn.recv(65536)
    except OSError:  # BlockingIOError: nothing queued; a reset shows in the next check
        return b""
    finally:
        conn.settimeout(REPLY)


def expect_echo(conn, message, *, deadline=30.0):
    """Fail unless exactly ``message`` comes back on ``conn``, with nothing queued after it."""
    got, end = read(conn, len(message), deadline=deadline)
    if got == message:
        got += queued(conn)  # bytes sent beyond the echo are already there: they show at once
    if got != message:
        if len(message) <= 300:
            raise check50.Mismatch(repr(message), repr(got))
        same = next((i for i, (a, b) in enumerate(zip(got, message)) if a != b), len(got))
        raise check50.Failure(f"{len(got)} of {len(message)} bytes came back ({end}); "
                              f"the first {same} match")


def send(conn, data):
    try:
        conn.sendall(data)
    except OSError as exc:
        raise check50.Failure(f"sending failed: {type(exc).__name__}: {exc}")


@check50.check()
def start():
    """server.py listens on the port it is given"""
    with Server():
        pass


@check50.check(start)
def echo():
    """echoes one message"""
    with Server() as server, server.connect() as conn:
        message = b"hello, echo server\\n"
        send(conn, message)
        expect_echo(conn, message, deadline=REPLY)


@check50.check(start)
def fragments():
    """echoes a message written one byte at a time"""
    with Server() as server, server.connect(nodelay=True) as conn:
        message = b"split into single-byte writes, comes back whole\\n"
        for byte in message:
            send(conn, bytes([byte]))
            time.sleep(0.002)  # a gap, so every byte is its own segment (pacing, not waiting)
        expect_echo(conn, message, deadline=REPLY)


@check50.check(start)
def large():
    """echoes 4 MiB intact, written and read at the same time"""
    payload = random.Random(13).randbytes(4 * 1024 * 1024)
    with Server() as server, server.connect() as conn:
        failed = []

        def writer():
            try:
                conn.sendall(payload)
            except OSError as exc:
                failed.append(exc)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        expect_echo(conn, payload, deadline=30.0)
        thread.join(timeout=REPLY)
        if failed:
            raise check50.Failure(f"sending failed: {failed[0]}")


@check50.check(start)
def half_close():
    """after the client's half-close, sends the rest of the echo and closes"""
    with Server() as server, server.connect() as conn:
        message = b"the last words before SHUT_WR\\n" * 10
        send(conn, message)
        conn.shutdown(socket.SHUT_WR)
        got, end = read(conn, 0, eof=True, deadline=REPLY * 2, cap=len(message) + 65536)
        if got != message:
            raise check50.Mismatch(repr(message), repr(got[:400]))
        if end != "EOF":
            raise check50.Failure(f"the whole echo came back, then {end} instead of EOF")


@check50.check(start)
def reset():
    """keeps serving after a client resets its connection"""
    with Server() as server:
        with server.connect() as first:
            send(first, b"about to reset\\n")
            expect_echo(first, b"about to reset\\n", deadline=REPLY)
            first.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with server.connect() as second:
            send(second, b"next client\\n")
            expect_echo(second, b"next client\\n", deadline=REPLY)
        if server.process.poll() is not None:
            raise check50.Failure(f"server.py exited ({server.process.returncode}) after a reset")


@check50.check(start)
def binary():
    """echoes all 256 byte values"""
    with Server() as server, server.connect() as conn:
        message = bytes(range(256))
        send(conn, message)
        expect_echo(conn, message, deadline=REPLY)
'''


def write_checks(folder: Path) -> Path:
    """Write the check50 checks package into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".cs50.yaml").write_text(CS50_YAML)
    (folder / "__init__.py").write_text(CHECKS_SOURCE)
    return folder


def make_submission(folder: Path, program: Path) -> Path:
    """A student's folder: ``program`` as server.py (with the known bugs' shared skeleton)."""
    folder.mkdir(parents=True)
    shutil.copy(program, folder / "server.py")
    if program.parent == BUGS:
        shutil.copy(BUGS / "_threaded.py", folder / "_threaded.py")
    return folder


def find_check50(given: str | None) -> str | None:
    """The check50 executable: ``given`` (a path or a name on PATH), else ``check50`` on PATH."""
    if given is None:
        return shutil.which("check50")
    path = Path(given).expanduser()
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    return shutil.which(given)


#: The environment of every timed command: bytecode cached as an installed package's is
#: (:func:`use_bytecode_cache` sets it).
_ENV: dict[str, str] = dict(os.environ)


def use_bytecode_cache(folder: Path) -> None:
    """Run every timed command with a bytecode cache in ``folder`` (PYTHONPYCACHEPREFIX)."""
    _ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    _ENV["PYTHONPYCACHEPREFIX"] = str(folder)


def timed(command: list[str], *, cwd: Path, env: dict[str, str] | None = None
          ) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """Run ``command`` to its exit: (wall seconds, CPU seconds, the finished process).

    CPU is user + system time of the process and every descendant it waited for (the
    servers both graders start and stop are theirs), from getrusage(RUSAGE_CHILDREN).
    Raises subprocess.TimeoutExpired after RUN_TIMEOUT seconds.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=_ENV if env is None else env, capture_output=True,
                          timeout=RUN_TIMEOUT, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done


def run_check50(check50: str, checks: Path, submission: Path
                ) -> tuple[float, float, dict[str, bool | None], str]:
    """One check50 run in ``submission``: (wall s, CPU s, check name -> passed, output on error).

    ``passed`` is None for a check check50 skipped or could not run.
    """
    out = submission / "check50.json"
    command = [check50, "--dev", str(checks), "-o", "json", "--output-file", str(out)]
    elapsed, cpu, done = timed(command, cwd=submission)
    try:
        report = json.loads(out.read_text())
        results = {row["name"]: row["passed"] for row in report["results"]}
    except (OSError, ValueError, KeyError, TypeError):
        results = {}
    problem = "" if results else (done.stdout + done.stderr).decode("utf-8", "replace")[-2000:]
    return elapsed, cpu, results, problem


def run_sockgrade(*, same_seven: bool = False) -> tuple[float, float, int, str]:
    """One ``sockgrade check tcp-echo-server --reference``, every probe or (``same_seven``) only
    the seven that ask what the check50 checks ask: (wall s, CPU s, exit status, output)."""
    command = [sys.executable, "-m", "grader", "check", "tcp-echo-server", "--reference"]
    if same_seven:
        for probe in COMPARABLE.values():
            command += ["--select", f"tcp-echo-server/{probe}"]
    elapsed, cpu, done = timed(command, cwd=ROOT, env=dict(_ENV, PYTHONPATH=str(ROOT)))
    return elapsed, cpu, done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace")[-2000:]


def verify(check50: str, work: Path) -> int:
    """Run the checks on the reference and on each known bug; 0 when every verdict is as expected."""
    checks = write_checks(work / "checks")
    cases: list[tuple[str, Path, tuple[str, ...]]] = [("reference", REFERENCE, ())]
    cases += [(name, BUGS / f"{name}.py", fails) for name, fails in KNOWN_BUGS.items()]
    print(f"{'server':<26} " + " ".join(f"{name:>10}" for name in CHECKS) + "  verdict")
    wrong = 0
    for label, program, must_fail in cases:
        elapsed, _, results, problem = run_check50(check50, checks, make_submission(work / label, program))
        if not results:
            print(f"{label}: check50 gave no results:\n{problem}", file=sys.stderr)
            return 1
        marks = {True: "pass", False: "FAIL", None: "skip"}
        ok = (all(results.get(name) for name in CHECKS) if not must_fail
              else all(results.get(name) is False for name in must_fail))
        wrong += not ok
        expected = "all pass" if not must_fail else "fails " + ", ".join(must_fail)
        print(f"{label:<26} " + " ".join(f"{marks[results.get(name)]:>10}" for name in CHECKS)
              + f"  {'as expected' if ok else 'WRONG'} ({expected}; {elapsed:.1f} s)")
    print("every verdict as expected" if not wrong else f"{wrong} server(s) misjudged")
    return 1 if wrong else 0


def summary(times: list[float]) -> dict[str, float]:
    """Median, min and max of ``times`` (seconds)."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def benchmark(check50: str, runs: int, work: Path, json_path: Path | None) -> int:
    """Time both graders ``runs`` times, alternating; print the table; 0 unless a grader failed."""
    checks = write_checks(work / "checks")
    version = subprocess.run([check50, "--version"], capture_output=True, text=True, timeout=60,
                             check=False).stdout.strip()
    load_start = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in load_start)} "
          f"(1, 5, 15 min) at start")
    print(f"{version or 'check50'} ({check50}): 7 checks on the reference; "
          f"sockgrade: full check tcp-echo-server --reference; {runs} runs each, alternating")
    use_bytecode_cache(work / "pycache")
    run_check50(check50, checks, make_submission(work / "warm-up", REFERENCE))  # fills the cache
    run_sockgrade()
    run_sockgrade(same_seven=True)
    times: dict[str, list[float]] = {"check50": [], "sockgrade": [], "same seven": []}
    cpus: dict[str, list[float]] = {"check50": [], "sockgrade": [], "same seven": []}
    for index in range(runs):
        order = ("check50", "sockgrade", "same seven") if index % 2 == 0 else \
            ("same seven", "sockgrade", "check50")
        for grader in order:
            if grader == "check50":
                elapsed, cpu, results, problem = run_check50(
                    check50, checks, make_submission(work / f"run{index}", REFERENCE))
                if not results or not all(results.get(name) for name in CHECKS):
                    print(f"check50 did not pass the reference: {results or problem}", file=sys.stderr)
                    return 1
            else:
                elapsed, cpu, status, output = run_sockgrade(same_seven=grader == "same seven")
                if status != 0:
                    print(f"sockgrade did not pass the reference (exit {status}):\n{output}",
                          file=sys.stderr)
                    return 1
            times[grader].append(elapsed)
            cpus[grader].append(cpu)
        print(f"run {index + 1}/{runs}: check50 {times['check50'][-1]:.2f} s "
              f"(CPU {cpus['check50'][-1]:.2f} s), sockgrade {times['sockgrade'][-1]:.2f} s "
              f"(CPU {cpus['sockgrade'][-1]:.2f} s), the same seven probes "
              f"{times['same seven'][-1]:.2f} s (CPU {cpus['same seven'][-1]:.2f} s)", flush=True)
    stats = {grader: summary(values) for grader, values in times.items()}
    cpu_stats = {grader: summary(values) for grader, values in cpus.items()}
    ratio = stats["sockgrade"]["median"] / stats["check50"]["median"]
    cpu_ratio = cpu_stats["sockgrade"]["median"] / cpu_stats["check50"]["median"]
    print()
    print(f"{'grader':<44} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}")
    for grader, label in (("check50", "check50 --dev (7 checks)"),
                          ("sockgrade", "sockgrade check --reference (every probe)"),
                          ("same seven", "sockgrade, the 7 comparable probes only")):
        print(f"{label:<44} {stats[grader]['median']:9.2f} {stats[grader]['min']:7.2f} "
              f"{stats[grader]['max']:7.2f} {cpu_stats[grader]['median']:7.2f}")
    print(f"ratio sockgrade/check50 (median wall time): {ratio:.2f}   target <= {TARGET_RATIO}   "
          f"{'met' if ratio <= TARGET_RATIO else 'not met'}")
    print(f"ratio sockgrade/check50 (median CPU time, for reference): {cpu_ratio:.2f}")
    same = stats["same seven"]["median"] / stats["check50"]["median"]
    print(f"ratio on the same seven checks (median wall time, for reference): {same:.2f}")
    load_end = os.getloadavg()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in load_end)}")
    if json_path is not None:
        report = {
            "machine": {"cores": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": load_end},
            "check50": {"path": check50, "version": version, "times": times["check50"],
                        "cpu_times": cpus["check50"], **stats["check50"]},
            "sockgrade": {"times": times["sockgrade"], "cpu_times": cpus["sockgrade"],
                          **stats["sockgrade"]},
            "same_seven": {"times": times["same seven"], "cpu_times": cpus["same seven"],
                           **stats["same seven"]},
            "ratio": ratio,
            "cpu_ratio": cpu_ratio,
            "same_seven_ratio": same,
            "target_ratio": TARGET_RATIO,
        }
        try:
            json_path.write_text(json.dumps(report, indent=2) + "\n")
        except OSError as exc:
            print(f"cannot write {json_path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    return 0


def main() -> int:
    """Parse the command line and run the benchmark (or --verify); the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each grader (default 5)")
    parser.add_argument("--check50", metavar="PATH", help="check50 executable (default: check50 on PATH)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the figures as JSON")
    parser.add_argument("--verify", action="store_true",
                        help="run the checks on the reference and known bugs instead of timing")
    args = parser.parse_args()
    if args.runs < 1:
        print(f"--runs must be at least 1, not {args.runs}", file=sys.stderr)
        return 2
    if args.json is not None and not args.json.parent.is_dir():
        print(f"cannot write {args.json}: no folder {args.json.parent}", file=sys.stderr)
        return 2
    check50 = find_check50(args.check50)
    if check50 is None:
        where = f"{args.check50} is not an executable" if args.check50 else "check50 is not installed"
        print(f"{where}: pip install 'sockgrade[bench]' (or pip install check50), "
              "or give its path with --check50 PATH", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-check50-") as tmp:
        if args.verify:
            return verify(check50, Path(tmp))
        return benchmark(check50, args.runs, Path(tmp), args.json)


if __name__ == "__main__":
    sys.exit(main())
