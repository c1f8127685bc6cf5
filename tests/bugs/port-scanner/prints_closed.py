"""Known bug: prints every port, "port N: CLOSED" for the closed ones too.

The lab asks for nothing on the others.  Fails scan/open-ports ("not 'port
N: OPEN'"), so every probe that needs a working scan is skipped.
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
        sock.settimeout(0.2)
        state = "OPEN" if sock.connect_ex((address, port)) == 0 else "CLOSED"
        print(f"port {port}: {state}")
