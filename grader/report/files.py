"""Atomic report files: a report is either whole on disk or absent.

Theory of operation: write to a temporary file in the same folder, flush and
fsync it, then ``os.replace`` it over the target (atomic on POSIX), so an
interrupted batch never leaves a half-written report behind.  The temporary
file is created private (0600, ``mkstemp``); before the rename it gets
:data:`MODE` (0644, what ``open()`` makes under the usual umask 022), so a
report is readable by the CI job, web server or teammate that reads it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Permissions of every report file: owner read/write, everyone read.
MODE = 0o644


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically with mode :data:`MODE`, creating parent
    folders; raises OSError when it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), MODE)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
