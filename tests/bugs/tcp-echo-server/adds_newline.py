"""Known bug (docs/labs.md §1): adds newlines.

Echoes each chunk followed by a newline, like print() would.
"""
from _threaded import run


def handle(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data + b"\n")


run(handle)
