"""Capped capture of a program's stdout or stderr.

Theory of operation: a daemon thread reads the pipe in chunks until EOF and
keeps the first ``cap`` bytes plus the last ``cap // 4`` bytes (the tail is
where a traceback ends up).  Everything is counted, nothing else is kept, so
the grader's memory stays bounded whatever the program prints.  Reading
never stops before EOF: a program that logs every ``recv`` (megabytes per
probe) must never block on a full pipe, or its slowness would be blamed on
its socket code (the report then says how many bytes were not kept).
"""

from __future__ import annotations

import threading
from typing import IO

#: Bytes asked for per read.
_CHUNK = 256 * 1024


class CappedCapture:
    """Reads ``stream`` in the background until EOF; ``cap`` is in bytes (head kept)."""

    def __init__(self, stream: IO[bytes], *, cap: int) -> None:
        self._stream = stream
        self._cap = cap
        self._tail_cap = max(1024, cap // 4)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        read = getattr(self._stream, "read1", self._stream.read)
        try:
            while True:
                chunk = read(_CHUNK)
                if not chunk:
                    break
                self._keep(chunk)
        except (OSError, ValueError):
            pass

    def _keep(self, chunk: bytes) -> None:
        with self._lock:
            self.total += len(chunk)
            room = self._cap - len(self._head)
            if room > 0:
                self._head += chunk[:room]
                chunk = chunk[room:]
            if not chunk:
                return
            if len(chunk) >= self._tail_cap:
                self._tail[:] = chunk[-self._tail_cap:]
            else:
                self._tail += chunk
                del self._tail[: max(0, len(self._tail) - self._tail_cap)]

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the reader to reach EOF."""
        self._thread.join(timeout)

    def data(self) -> bytes:
        """The kept bytes: the head, and if anything was dropped, a marker and the tail."""
        with self._lock:
            if self.total <= len(self._head) + len(self._tail):
                return bytes(self._head + self._tail)
            dropped = self.total - len(self._head) - len(self._tail)
            marker = f"\n[... {dropped} bytes of output not kept ...]\n".encode()
            return bytes(self._head) + marker + bytes(self._tail)
