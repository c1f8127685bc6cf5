"""Known bug: prints the bytes object (b'...') instead of the decoded text."""
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
            break
        received += chunk
    print(received)
    sock.close()
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
