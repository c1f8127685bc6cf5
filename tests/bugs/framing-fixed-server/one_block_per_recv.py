"""Known bug (docs/labs.md §9, fixed-length): one message answered per recv().

Bytes are buffered correctly, but after each recv() only the first 16-byte
message in the buffer is answered; the rest wait for the next recv(), which
may never come (the client is waiting for their echo).
Fails: framing/coalesced-frames and every probe that sends more than one
message in one write: echo/many-messages, echo/binary, shutdown/half-close.
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
            if len(buffer) >= 16:  # the bug: 'if', not 'while'
                conn.sendall(buffer[:16])
                buffer = buffer[16:]


serve(handle)
