"""Known bug (docs/labs.md §14): one recv() taken as the whole echo.

Prints whatever the first recv() returns and closes: a split echo is cut
short, and closing with unread data makes the kernel send RST.
"""
import socket
import sys

try:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    sock.sendall(sys.argv[3].encode())
    print(sock.recv(1024).decode())
    sock.close()
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
