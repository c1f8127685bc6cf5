"""Readiness (grader/readiness.py) on a real listener: a program counts as ready only while
its main process runs, so a "daemon" whose orphan listens after the parent exited is reported
as exited, however the look and the exit interleave.

The program here is a stand-in whose sockets are this test process's own real sockets and
whose main process is made to exit between readiness's check of it and its look at the
sockets: the interleaving a loaded machine produces now and then with
``tests/hostile/orphan.py``, made certain.
"""

from __future__ import annotations

import os
import socket

from grader.launch.base import Output
from grader.readiness import wait_ready


class _ExitsBeforeTheLook:
    """A program whose main process is running at the first check and gone at every later one,
    while the listener (a real one) is already there."""

    description = "stand-in"

    def __init__(self) -> None:
        self.checks = 0

    def poll(self) -> int | None:
        self.checks += 1
        return None if self.checks == 1 else 0

    def pids(self) -> list[int]:
        return [os.getpid()]

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM,
               proto: int = 0) -> socket.socket:
        return socket.socket(family, kind, proto)

    def output(self) -> Output:
        return Output(stdout=b"", stderr=b"", stdout_total=0, stderr_total=0)


def test_a_listener_seen_after_the_main_process_exited_is_not_ready() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        program = _ExitsBeforeTheLook()
        start = wait_ready(program, proto="tcp", host="127.0.0.1", port=port,  # type: ignore[arg-type]
                           timeout=5)
        assert start.status == "exited", start
        assert "exited with status 0 before serving" in start.reason
        assert program.checks >= 2  # the look found the listener; the check after it, the exit
