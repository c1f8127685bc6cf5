"""Known bug (docs/labs.md §18): no timeout on connect.

A port that never answers (its SYNs dropped) blocks connect_ex() for about
two minutes, so the scan hangs at the first silent port.  Fails
scan/silent-ports and scan/time-bound ("did not finish").
"""
import socket
import sys

host, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    address = socket.gethostbyname(host)
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
for port in range(first, last + 1):
    with socket.socket() as sock:
        if sock.connect_ex((address, port)) == 0:
            print(f"port {port}: OPEN")
