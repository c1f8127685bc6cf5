"""Known bug (docs/labs.md §10): the whole header is parsed out of the first recv().

Works while the header arrives in one segment; when it is split, the first
recv() holds a byte or two and the parse fails (the handler dies).
Must fail: partial/split-header.
"""
import os

import _upload
from _upload import run


def serve(conn):
    data = conn.recv(65536)
    name_length = int.from_bytes(data[:4], "big")
    raw = data[4 : 4 + name_length]
    size_field = data[4 + name_length : 12 + name_length]
    if len(raw) != name_length or len(size_field) != 8:
        raise ValueError("short header")
    size = int.from_bytes(size_field, "big")
    try:
        path = _upload.check_name(raw)
    except _upload.Refused as why:
        conn.sendall(f"ERR {why}\n".encode())
        return
    content = data[12 + name_length :]
    rest = _upload.recv_exactly(conn, size - len(content)) if size > len(content) else b""
    with open(path + ".part", "wb") as out:
        out.write(content + rest)
    os.replace(path + ".part", path)
    conn.sendall(b"OK\n")


_upload.serve = serve
run()
