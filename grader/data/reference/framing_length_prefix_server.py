"""Reference length-prefix echo server (lab 9 of the sockgrade lab catalogue).

Usage: python framing_length_prefix_server.py HOST PORT

TCP delivers a stream of bytes, not messages, so each message carries its
own length: a 4-byte big-endian unsigned header, then that many bytes.  The
server reads whole messages and echoes each one back in the same framing.

Three rules make it robust:

* recv(n) may return fewer than n bytes (even 1), so recv_exactly() loops
  until it has all n;
* a header is a claim, not a fact: a length over MAX_LENGTH closes the
  connection before anything is allocated (a header can claim 4 GiB);
* an EOF between messages is the client saying goodbye; an EOF inside a
  message ends that connection only, never the server.

Each client is served by its own thread.  Standard library only.
"""

import contextlib
import socket
import struct
import sys
import threading

HEADER = struct.Struct("!I")  # network byte order (big-endian), unsigned 32-bit
MAX_LENGTH = 16 * 1024 * 1024  # the largest message we accept: 16 MiB


class Truncated(Exception):
    """The peer closed the connection in the middle of a message."""


def recv_exactly(conn, n):
    """Read exactly n bytes; None on a clean EOF before the first byte.

    Raises Truncated when the stream ends after some but not all n bytes.
    """
    buffer = bytearray()
    while len(buffer) < n:
        chunk = conn.recv(min(n - len(buffer), 65536))
        if not chunk:
            if buffer:
                raise Truncated(f"EOF after {len(buffer)} of {n} bytes")
            return None
        buffer += chunk
    return bytes(buffer)


def serve_client(conn, address):
    """Echo every length-prefixed message until the client closes its side."""
    with conn:
        try:
            while True:
                header = recv_exactly(conn, HEADER.size)
                if header is None:  # clean EOF between messages: the client is done
                    break
                (length,) = HEADER.unpack(header)
                if length > MAX_LENGTH:  # check the claim BEFORE reading or allocating
                    print(f"client {address}: length {length} over {MAX_LENGTH}; closing",
                          file=sys.stderr)
                    break
                payload = recv_exactly(conn, length) if length else b""
                if payload is None:
                    raise Truncated(f"EOF after the header of a {length}-byte message")
                conn.sendall(header + payload)  # same framing back; sendall() loops
        except (OSError, Truncated) as exc:  # a reset, or a message cut short by EOF
            print(f"client {address}: {exc}", file=sys.stderr)
    # leaving the 'with' block closes the socket: the client sees EOF (FIN)


def main():
    if len(sys.argv) != 3:
        print("usage: framing_length_prefix_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        # Without SO_REUSEADDR a restarted server cannot bind the port while
        # old connections linger in TIME_WAIT (up to a minute).
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"length-prefix echo server listening on {host}:{port}", flush=True)
        while True:
            conn, address = server.accept()
            threading.Thread(target=serve_client, args=(conn, address), daemon=True).start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
