"""Who holds a port on this machine: a process (named), or sockets lingering after a close.

Theory of operation: a server without ``SO_REUSEADDR`` cannot bind a port
while any socket of this network namespace still uses it as its local port.
Two kinds exist, told apart in ``/proc/net/{tcp,tcp6,udp,udp6}`` by the
socket's inode: a socket a process still has open (inode != 0; its owner is
found by scanning ``/proc/*/fd``), and a socket no process owns any more,
left by a close (TIME_WAIT for up to a minute, RFC 9293 section 3.6.1, or
FIN_WAIT/LAST_ACK/CLOSING for a moment; inode 0).  The first is another
program on the port the assignment pins: a fault of the machine, reported
with its pid and command, never blamed on the submission.  The second
clears by itself: the runner waits for it, bounded, and notes the wait.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

#: Seconds a lingering socket may take to clear: TIME_WAIT is 60 s on Linux (TCP_TIMEWAIT_LEN).
LINGER_BOUND = 65.0
_TABLES = ("tcp", "tcp6", "udp", "udp6")


@dataclass(frozen=True, kw_only=True)
class PortUse:
    """Sockets using a local port: ``lingering`` (no owner, they clear) and ``holders`` (named).

    Each holder reads like ``"pid 4242 (python3 server.py)"``.
    """

    lingering: int
    holders: tuple[str, ...]

    @property
    def free(self) -> bool:
        """True when nothing uses the port."""
        return not self.lingering and not self.holders


def _sockets(port: int) -> tuple[int, set[str]]:
    lingering, inodes = 0, set()
    for table in _TABLES:
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10 or int(cols[1].rsplit(":", 1)[1], 16) != port:
                continue
            if cols[9] == "0":
                lingering += 1
            else:
                inodes.add(cols[9])
    return lingering, inodes


def _owners(inodes: set[str]) -> tuple[str, ...]:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    found: list[str] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            targets = {os.readlink(f"/proc/{entry}/fd/{fd}") for fd in os.listdir(f"/proc/{entry}/fd")}
        except OSError:
            continue
        if targets & wanted:
            try:
                raw = Path(f"/proc/{entry}/cmdline").read_bytes()
                command = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                command = ""
            found.append(f"pid {entry} ({command[:120] or '?'})")
    return tuple(found) or ("a process this user cannot see",)


def port_use(port: int) -> PortUse:
    """What uses local ``port`` (TCP or UDP, IPv4 or IPv6) in the grader's network namespace."""
    lingering, inodes = _sockets(port)
    return PortUse(lingering=lingering, holders=_owners(inodes) if inodes else ())


def wait_until_unheld(port: int, *, timeout: float = LINGER_BOUND) -> tuple[PortUse, float]:
    """Wait up to ``timeout`` seconds for lingering sockets on ``port`` to clear.

    Returns what still uses the port (free, held by a process, or still
    lingering at the deadline) and the seconds waited.  Polls the kernel's
    table, a real condition, every 0.1 s.
    """
    started = time.monotonic()
    while True:
        use = port_use(port)
        if use.free or use.holders or time.monotonic() - started >= timeout:
            return use, time.monotonic() - started
        time.sleep(0.1)  # polls the kernel's table; the timeout bounds it


def tcp_ports_in_use(first: int, last: int, *, listening_only: bool = False) -> set[int]:
    """Local TCP ports from ``first`` to ``last`` (inclusive) that some socket of the grader's
    network namespace uses (any state; with ``listening_only``, LISTEN only), IPv4 or IPv6.

    One read of ``/proc/net/tcp`` and ``tcp6`` for the whole range.
    """
    found: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 4 or (listening_only and cols[3] != "0A"):
                continue
            port = int(cols[1].rsplit(":", 1)[1], 16)
            if first <= port <= last:
                found.add(port)
    return found
