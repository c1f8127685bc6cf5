"""Reference fixed-length echo server (lab 9 of the sockgrade lab catalogue).

Usage: python framing_fixed_server.py HOST PORT

Every message is exactly 16 bytes: no header and no delimiter, the size is
the framing.  TCP delivers a stream of bytes, so recv(16) may return fewer
than 16 (one byte, if that is all that has arrived): recv_exactly() loops
until the whole message is in.  Each message is echoed back unchanged.  An
EOF between messages ends the conversation; an EOF inside a message ends
that connection only.  Each client is served by its own thread.  Standard
library only.
"""

import contextlib
import socket
import sys
import threading

MESSAGE_SIZE = 16


class Truncated(Exception):
    """The peer closed the connection in the middle of a message."""


def recv_exactly(conn, n):
    """Read exactly n bytes; None on a clean EOF before the first byte.

    Raises Truncated when the stream ends after some but not all n bytes.
    """
    buffer = bytearray()
    while len(buffer) < n:
        chunk = conn.recv(n - len(buffer))
        if not chunk:
            if buffer:
                raise Truncated(f"EOF after {len(buffer)} of {n} bytes")
            return None
        buffer += chunk
    return bytes(buffer)


def serve_client(conn, address):
    """Echo every 16-byte message until the client closes its side."""
    with conn:
        try:
            while True:
                message = recv_exactly(conn, MESSAGE_SIZE)
                if message is None:  # clean EOF between messages: the client is done
                    break
                conn.sendall(message)
        except (OSError, Truncated) as exc:  # a reset, or a message cut short by EOF
            print(f"client {address}: {exc}", file=sys.stderr)


def main():
    if len(sys.argv) != 3:
        print("usage: framing_fixed_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"fixed-length echo server listening on {host}:{port}", flush=True)
        while True:
            conn, address = server.accept()
            threading.Thread(target=serve_client, args=(conn, address), daemon=True).start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
