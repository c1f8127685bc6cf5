"""Reference TCP echo client (lab 14 of the sockgrade lab catalogue).

Usage: python tcp_echo_client.py HOST PORT MESSAGE

Sends MESSAGE, reads until the whole echo is back (however the network
splits it), prints it, and closes cleanly.  Errors (connection refused, a
server that closes early) are reported as one line on stderr with exit
status 1.  Standard library only.
"""

import socket
import sys


def echo(host, port, message):
    """Send ``message`` (bytes) and return the echo; raises OSError or EOFError."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(message)
        received = bytearray()
        while len(received) < len(message):  # one recv() is not one message
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError(
                    f"server closed the connection after {len(received)} of "
                    f"{len(message)} bytes"
                )
            received += chunk
        sock.shutdown(socket.SHUT_WR)  # tell the server we are done sending
        while sock.recv(65536):  # read to EOF so nothing is left unread (no RST)
            pass
    return bytes(received)


def main():
    if len(sys.argv) != 4:
        print("usage: tcp_echo_client.py HOST PORT MESSAGE", file=sys.stderr)
        sys.exit(2)
    host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        reply = echo(host, port, message.encode("utf-8"))
    except (OSError, EOFError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(reply.decode("utf-8", "replace"))


if __name__ == "__main__":
    main()
