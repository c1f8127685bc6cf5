"""Known bug (docs/labs.md §18): the range stops before LAST.

``range(first, last)`` leaves LAST out, so an open port at the top of the
range is never reported.  Fails scan/range-ends ("the last port of the range").
"""
import socket
import sys

host, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    address = socket.gethostbyname(host)
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
for port in range(first, last):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        if sock.connect_ex((address, port)) == 0:
            print(f"port {port}: OPEN")
