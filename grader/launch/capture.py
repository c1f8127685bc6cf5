"""Capped capture of a program's stdout or stderr.

Theory of operation: a daemon thread reads the pipe in chunks and keeps the
first ``cap`` bytes plus the last ``cap // 4`` bytes (the tail is where a
traceback ends up).  Everything is counted.  After ``drain_limit`` bytes the
thread stops reading: a program that floods its output then blocks on a
full pipe instead of costing the grader CPU and memory.
"""

from __future__ import annotations

import threading
from typing import IO


class CappedCapture:
    """Reads ``stream`` in the background; ``cap`` and ``drain_limit`` are bytes."""

    def __init__(self, stream: IO[bytes], *, cap: int, drain_limit: int = 64 * 1024 * 1024):
        self._stream = stream
        self._cap = cap
        self._tail_cap = max(1024, cap // 4)
        self._drain_limit = drain_limit
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        read = getattr(self._stream, "read1", self._stream.read)
        try:
            while self.total < self._drain_limit:
                chunk = read(65536)
                if not chunk:
                    break
                with self._lock:
                    self.total += len(chunk)
                    room = self._cap - len(self._head)
                    if room > 0:
                        self._head += chunk[:room]
                        chunk = chunk[room:]
                    if chunk:
                        self._tail += chunk
                        del self._tail[: max(0, len(self._tail) - self._tail_cap)]
        except (OSError, ValueError):
            pass

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the reader to reach EOF."""
        self._thread.join(timeout)

    def data(self) -> bytes:
        """The kept bytes: the head, and if anything was dropped, a marker and the tail."""
        with self._lock:
            if self.total <= len(self._head) + len(self._tail):
                return bytes(self._head + self._tail)
            dropped = self.total - len(self._head) - len(self._tail)
            marker = f"\n[... {dropped} bytes not kept ...]\n".encode()
            return bytes(self._head) + marker + bytes(self._tail)
