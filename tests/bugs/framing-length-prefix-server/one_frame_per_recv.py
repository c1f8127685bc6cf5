"""Known bug (docs/labs.md §9, length-prefix): one message answered per recv().

Bytes are buffered correctly, but after each recv() only the first complete
message in the buffer is answered; the others wait for the next recv(),
which may never come (the client is waiting for their echo).
Fails: framing/coalesced-frames (bulk transfers pass: their 1 MiB messages
never complete two to a recv()).
"""
from _common import serve

MAX_LENGTH = 16 * 1024 * 1024


def handle(conn):
    buffer = b""
    with conn:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) >= 4:
                length = int.from_bytes(buffer[:4], "big")
                if length > MAX_LENGTH:
                    break
                if len(buffer) >= 4 + length:  # the bug: 'if', not 'while'
                    conn.sendall(buffer[: 4 + length])
                    buffer = buffer[4 + length :]


serve(handle)
