"""Known bug (docs/labs.md §10): recv(4) and recv(8) are trusted to return 4 and 8 bytes.

When the header arrives in small segments, recv(4) returns fewer bytes and
the name length, the name and the size are all read wrong.
Must fail: partial/split-header.
"""
import _upload
from _upload import run


def read_header(conn):
    name_length = int.from_bytes(conn.recv(4), "big")
    raw = conn.recv(name_length) if name_length else b""
    return raw, int.from_bytes(conn.recv(8), "big")


_upload.read_header = read_header
run()
