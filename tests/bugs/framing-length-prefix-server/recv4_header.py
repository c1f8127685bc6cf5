"""Known bug (docs/labs.md §9, length-prefix): recv(4) assumed to return 4 bytes.

The header is read with a single recv(4).  When the header arrives in pieces
(one byte per segment), recv(4) returns 1 byte, the length is garbage and the
stream is out of step from then on.  The payload is read correctly.
Fails: partial/one-byte-writes, framing/split-header.
"""
from _common import recv_exactly, serve

MAX_LENGTH = 16 * 1024 * 1024


def handle(conn):
    with conn:
        while True:
            header = conn.recv(4)  # the bug: may return 1, 2 or 3 bytes
            if not header:
                break
            length = int.from_bytes(header, "big")
            if length > MAX_LENGTH:
                break
            payload = recv_exactly(conn, length)
            if payload is None:
                break
            conn.sendall(length.to_bytes(4, "big") + payload)


serve(handle)
