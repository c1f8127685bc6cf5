"""Known bug (docs/labs.md §1): closes after the first message.

Reads one newline-terminated message, echoes it, and closes: a second
message on the same connection is never answered.
"""
from _threaded import run


def handle(conn):
    with conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1024)
            if not chunk:
                break
            data += chunk
        conn.sendall(data)


run(handle)
