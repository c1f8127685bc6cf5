"""Known bug (docs/labs.md §14): ignores recv() == b''.

Loops until the whole echo is back without checking for EOF: a server that
closes early leaves it spinning forever.
"""
import socket
import sys

try:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    message = sys.argv[3].encode()
    sock.sendall(message)
    received = b""
    while len(received) < len(message):
        received += sock.recv(65536)
    print(received.decode())
    sock.close()
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
