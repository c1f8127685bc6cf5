"""Known bug (docs/labs.md §9, fixed-length): a message cut short by EOF crashes the server.

A single-threaded server (one client at a time) whose recv_exactly raises
EOFError when the stream ends inside a message; only ConnectionResetError is
caught, so the EOFError ends the whole server.
Fails: framing/truncated-frame (the server exits; the next client is
refused), concurrency/second-client (one client at a time; informational).
"""
from _common import serve


def handle(conn):
    with conn:
        try:
            while True:
                message = b""
                while len(message) < 16:
                    data = conn.recv(16 - len(message))
                    if not data:
                        if message:
                            raise EOFError("connection closed in the middle of a message")
                        return
                    message += data
                conn.sendall(message)
        except ConnectionResetError:
            pass


serve(handle, threaded=False)
