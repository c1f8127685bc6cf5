"""Known bug (docs/labs.md §9, delimiter): one line answered per recv() (coalesced lines).

Bytes are buffered correctly, but after each recv() only the first complete
line in the buffer is answered; the other lines wait for the next recv(),
which may never come (the client is waiting for their echo).
Fails: framing/coalesced-frames, partial/large-payload, partial/backpressure.
"""
from _common import serve


def handle(conn):
    buffer = b""
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buffer += data
            if b"\n" in buffer:  # the bug: 'if', not 'while'
                line, _, buffer = buffer.partition(b"\n")
                conn.sendall(line + b"\n")


serve(handle)
