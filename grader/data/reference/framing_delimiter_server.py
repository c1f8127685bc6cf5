"""Reference delimiter-framed echo server (lab 9 of the sockgrade lab catalogue).

Usage: python framing_delimiter_server.py HOST PORT

Each message is a line ending in a newline (b"\n").  TCP delivers a stream
of bytes, so one recv() may hold half a line, or several lines and the start
of the next.  The server keeps what it has received in a buffer, answers
every complete line in it, and keeps the rest for the next recv():

    recv -> b"hel"            buffer b"hel"          nothing to answer yet
    recv -> b"lo\nhow\nar"    buffer b"hello\nhow\nar" answer "hello\n", "how\n"
                              buffer b"ar"           wait for the rest

A line longer than MAX_LENGTH closes the connection (the buffer would grow
without bound).  At EOF an unfinished last line is dropped.  Each client is
served by its own thread.  Standard library only (Python 3.8+).
"""

import contextlib
import socket
import sys
import threading

DELIMITER = b"\n"
MAX_LENGTH = 16 * 1024 * 1024  # the longest line we accept: 16 MiB


def serve_client(conn, address):
    """Echo every complete line, newline included, until the client closes its side."""
    buffer = bytearray()
    with conn:
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:  # the client is done
                    if buffer:
                        print(f"client {address}: dropped {len(buffer)} bytes of an "
                              "unfinished line", file=sys.stderr)
                    break
                buffer += chunk
                # Answer every complete line in the buffer, not just the first:
                # one recv() may have brought several.
                while (end := buffer.find(DELIMITER)) >= 0:
                    line = bytes(buffer[:end])
                    del buffer[: end + len(DELIMITER)]
                    conn.sendall(line + DELIMITER)  # echo it in the same framing
                # What is left is the start of a line whose end has not arrived.
                if len(buffer) > MAX_LENGTH:
                    print(f"client {address}: line over {MAX_LENGTH} bytes; closing",
                          file=sys.stderr)
                    break
        except OSError as exc:  # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)


def main():
    if len(sys.argv) != 3:
        print("usage: framing_delimiter_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"delimiter echo server listening on {host}:{port}", flush=True)
        while True:
            conn, address = server.accept()
            threading.Thread(target=serve_client, args=(conn, address), daemon=True).start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
