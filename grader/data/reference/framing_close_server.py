"""Reference close-framed echo server (lab 9 of the sockgrade lab catalogue).

Usage: python framing_close_server.py HOST PORT

HTTP/1.0 style: the request is everything the client sends until it
half-closes its side (socket.shutdown(SHUT_WR)), which the server sees as
recv() returning b''.  Only then is the request complete, so only then does
the server reply (here: the request itself), and it closes the connection
to mark the end of the reply.  One request per connection.

A request over MAX_LENGTH closes the connection unanswered (the buffer would
otherwise grow without bound).  Each client is served by its own thread.
Standard library only.
"""

import contextlib
import socket
import sys
import threading

MAX_LENGTH = 64 * 1024 * 1024  # the largest request we accept: 64 MiB


def serve_client(conn, address):
    """Read until the client's half-close, send the reply, close."""
    request = bytearray()
    with conn:
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:  # the half-close: the request is complete
                    break
                request += chunk
                if len(request) > MAX_LENGTH:
                    print(f"client {address}: request over {MAX_LENGTH} bytes; closing",
                          file=sys.stderr)
                    return
            conn.sendall(request)  # the reply: the echo of the whole request
        except OSError as exc:  # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)
    # leaving the 'with' block closes the socket: the client sees the reply end (EOF)


def main():
    if len(sys.argv) != 3:
        print("usage: framing_close_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"close-framed echo server listening on {host}:{port}", flush=True)
        while True:
            conn, address = server.accept()
            threading.Thread(target=serve_client, args=(conn, address), daemon=True).start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
