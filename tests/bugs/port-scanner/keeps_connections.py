"""Known bug (docs/labs.md §18): every connection to an open port stays open until exit.

The sockets of open ports are kept in a dict (to print them at the end) and
never closed; only the process's exit closes them.  Fails
resources/closes-connections ("kept its connection").
"""
import socket
import sys

host, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    address = socket.gethostbyname(host)
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
opened = {}
for port in range(first, last + 1):
    sock = socket.socket()
    sock.settimeout(0.3)
    if sock.connect_ex((address, port)) == 0:
        opened[port] = sock
    else:
        sock.close()
for port in sorted(opened):
    print(f"port {port}: OPEN")
