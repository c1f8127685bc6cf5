"""Known bug (docs/labs.md §9, length-prefix): an empty message taken as the end of the stream.

The loop stops on an empty payload (``if not payload: break``), so a
zero-length message closes the connection instead of being echoed.
Fails: framing/zero-length.
"""
from _common import recv_exactly, serve

MAX_LENGTH = 16 * 1024 * 1024


def handle(conn):
    with conn:
        while True:
            header = recv_exactly(conn, 4)
            if not header:
                break
            length = int.from_bytes(header, "big")
            if length > MAX_LENGTH:
                break
            payload = recv_exactly(conn, length)
            if not payload:  # the bug: b"" is a valid (empty) message, not EOF
                break
            conn.sendall(header + payload)


serve(handle)
