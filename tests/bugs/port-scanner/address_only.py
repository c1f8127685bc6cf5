"""Known bug (docs/labs.md §18): only accepts an IP address as HOST.

The host is validated with ipaddress.ip_address(), so "localhost" is refused
as invalid.  Fails host/name (with host 'localhost').
"""
import ipaddress
import socket
import sys

try:
    address = str(ipaddress.ip_address(sys.argv[1]))
except ValueError:
    print(f"error: {sys.argv[1]!r} is not an IP address", file=sys.stderr)
    sys.exit(1)
first, last = int(sys.argv[2]), int(sys.argv[3])
for port in range(first, last + 1):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        if sock.connect_ex((address, port)) == 0:
            print(f"port {port}: OPEN")
