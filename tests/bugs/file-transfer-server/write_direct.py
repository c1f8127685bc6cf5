"""Known bug (docs/labs.md §10): writes straight to the final name while receiving.

An upload cut short leaves a partial file that looks complete.
Must fail: robustness/cut-short.
"""
import _upload
from _upload import run


def receive(conn, size, path):
    with open(path, "wb") as out:
        remaining = size
        while remaining:
            chunk = conn.recv(min(remaining, 65536))
            if not chunk:
                return  # client gone: the partial file stays
            out.write(chunk)
            remaining -= len(chunk)


_upload.receive = receive
run()
