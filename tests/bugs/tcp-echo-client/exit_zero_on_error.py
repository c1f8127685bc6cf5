"""Known bug: reports errors on stderr but exits with status 0."""
import socket
import sys

try:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    message = sys.argv[3].encode()
    sock.sendall(message)
    received = b""
    while len(received) < len(message):
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("server closed the connection early")
        received += chunk
    print(received.decode())
    sock.close()
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
