"""Known bug (docs/labs.md §9, length-prefix): recv(length) assumed to return the whole payload.

The header is read correctly, the payload with one recv(length).  A payload
larger than what has arrived (a 1 MiB message, or one written byte by byte)
comes back short, and the next "header" is taken from the payload.
Fails: partial/one-byte-writes, framing/one-mib-frame, partial/large-payload,
partial/backpressure.
"""
from _common import recv_exactly, serve

MAX_LENGTH = 16 * 1024 * 1024


def handle(conn):
    with conn:
        while True:
            header = recv_exactly(conn, 4)
            if header is None:
                break
            length = int.from_bytes(header, "big")
            if length > MAX_LENGTH:
                break
            payload = conn.recv(length) if length else b""  # the bug: may return less
            conn.sendall(len(payload).to_bytes(4, "big") + payload)


serve(handle)
