"""Known bug (docs/labs.md §10): the content is decoded as text and written in text mode.

Invalid UTF-8 becomes U+FFFD, so a binary file is corrupted on disk; text
files survive.
Must fail: upload/binary-20mib (size and SHA-256 differ).
"""
import os

import _upload
from _upload import run


def receive(conn, size, path):
    content = _upload.recv_exactly(conn, size).decode("utf-8", errors="replace")
    temporary = path + ".part"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(content)
    os.replace(temporary, path)


_upload.receive = receive
run()
