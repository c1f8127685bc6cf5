"""Known bug (docs/labs.md §9, length-prefix): a message cut short by EOF crashes the server.

A single-threaded server (one client at a time) whose recv_exactly raises
EOFError when the stream ends inside a message; only ConnectionResetError is
caught, so the EOFError ends the whole server.
Fails: framing/truncated-frame (the server exits; the next client is
refused), concurrency/second-client (one client at a time; informational).
"""
from _common import serve

MAX_LENGTH = 16 * 1024 * 1024


def recv_exactly(conn, n, allow_eof=False):
    buffer = b""
    while len(buffer) < n:
        chunk = conn.recv(n - len(buffer))
        if not chunk:
            if allow_eof and not buffer:
                return None
            raise EOFError("connection closed in the middle of a message")  # the bug: uncaught
        buffer += chunk
    return buffer


def handle(conn):
    with conn:
        try:
            while True:
                header = recv_exactly(conn, 4, allow_eof=True)
                if header is None:
                    break
                length = int.from_bytes(header, "big")
                if length > MAX_LENGTH:
                    break
                conn.sendall(header + recv_exactly(conn, length))
        except ConnectionResetError:
            pass


serve(handle, threaded=False)
