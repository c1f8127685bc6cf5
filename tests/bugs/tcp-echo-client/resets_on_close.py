"""Known bug: closes with RST (SO_LINGER 0) instead of FIN."""
import socket
import struct
import sys

try:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
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
    sys.exit(1)
