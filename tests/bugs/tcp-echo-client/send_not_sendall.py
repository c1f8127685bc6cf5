"""Known bug (docs/labs.md §14): send() instead of sendall().

With a timeout the socket is non-blocking underneath: when the server reads
slowly, send() sends only part of a large message and the rest is lost.
"""
import socket
import sys

try:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    message = sys.argv[3].encode()
    sock.send(message)
    received = b""
    while len(received) < len(message):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    print(received.decode())
    sock.close()
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
