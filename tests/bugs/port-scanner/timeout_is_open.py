"""Known bug (docs/labs.md §18): anything but "connection refused" is taken for OPEN.

connect_ex() returns EAGAIN when the timeout expires; testing only for
ECONNREFUSED reports every port that never answers as open.  Fails
scan/silent-ports and scan/time-bound ("never answer as OPEN").
"""
import errno
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

host, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    address = socket.gethostbyname(host)
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)


def is_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((address, port)) != errno.ECONNREFUSED


ports = range(first, last + 1)
with ThreadPoolExecutor(32) as pool:
    for port, found in zip(ports, pool.map(is_open, ports)):
        if found:
            print(f"port {port}: OPEN")
