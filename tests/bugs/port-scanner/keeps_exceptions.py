"""Known bug (docs/labs.md §18): stored exceptions keep every failed socket open.

Each refused connect raises; the exception is kept for a summary, and its
traceback holds the frame that holds the socket, so no failed socket is
ever closed: one descriptor per closed port piles up.  Fails
resources/bounded-fds ("file descriptors").
"""
import socket
import sys

host, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def check(address, port):
    sock = socket.socket()
    sock.settimeout(0.2)
    sock.connect((address, port))  # raises for a closed or silent port
    sock.close()


try:
    address = socket.gethostbyname(host)
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
errors = []
for port in range(first, last + 1):
    try:
        check(address, port)
        print(f"port {port}: OPEN")
    except OSError as exc:
        errors.append(exc)
