"""Known bug (docs/labs.md §9, delimiter): a line cut short by EOF crashes the server.

A single-threaded server (one client at a time) whose recv_line raises
EOFError when the stream ends inside a line; only ConnectionResetError is
caught, so the EOFError ends the whole server.
Fails: framing/truncated-frame (the server exits; the next client is
refused), concurrency/second-client (one client at a time; informational).
"""
from _common import serve


def handle(conn):
    buffer = b""
    with conn:
        try:
            while True:
                while b"\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        if buffer:
                            raise EOFError("connection closed in the middle of a line")  # uncaught
                        return
                    buffer += data
                while b"\n" in buffer:
                    line, _, buffer = buffer.partition(b"\n")
                    conn.sendall(line + b"\n")
        except ConnectionResetError:
            pass


serve(handle, threaded=False)
