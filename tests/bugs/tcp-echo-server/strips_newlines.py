"""Known bug (docs/labs.md §1): strips newlines.

Echoes each chunk with surrounding whitespace stripped (data.strip()).
"""
from _threaded import run


def handle(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data.strip())


run(handle)
