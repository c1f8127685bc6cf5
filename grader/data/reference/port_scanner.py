"""Reference TCP port scanner (lab 18 of the sockgrade lab catalogue).

Usage: python port_scanner.py HOST FIRST LAST

Prints "port N: OPEN" for every TCP port from FIRST to LAST (both included)
of HOST that accepts a connection, in ascending order, and nothing for the
others.  HOST may be a name or an address; it is resolved once, before the
scan.  Each port gets one connect_ex() with a timeout, so a port that never
answers (a firewall dropping packets) costs at most TIMEOUT seconds, and a
bounded pool of WORKERS threads scans that many ports at a time.  Every
socket is closed as soon as its connect has answered.  An unresolvable host
is reported as one line on stderr with exit status 1.  Standard library only.
"""

import socket
import sys
from concurrent.futures import ThreadPoolExecutor

#: Seconds one connect may take: an answer on a LAN or loopback takes far less.
TIMEOUT = 0.5
#: Ports scanned at once (threads): bounded, so sockets and threads stay few.
WORKERS = 32


def is_open(address, port):
    """True when ``port`` of ``address`` (an IPv4 address) accepts a TCP connection."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        return sock.connect_ex((address, port)) == 0  # refused, timed out: not open


def scan(address, first, last):
    """The open ports from ``first`` to ``last`` inclusive, ascending."""
    ports = range(first, last + 1)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = pool.map(lambda port: is_open(address, port), ports)
        return [port for port, found in zip(ports, answers, strict=True) if found]


def main():
    if len(sys.argv) != 4:
        print("usage: port_scanner.py HOST FIRST LAST", file=sys.stderr)
        sys.exit(2)
    host = sys.argv[1]
    try:
        first, last = int(sys.argv[2]), int(sys.argv[3])
    except ValueError:
        print("error: FIRST and LAST must be port numbers", file=sys.stderr)
        sys.exit(2)
    try:
        address = socket.gethostbyname(host)
    except OSError as exc:  # socket.gaierror: the name does not resolve
        print(f"error: cannot resolve {host}: {exc}", file=sys.stderr)
        sys.exit(1)
    for port in scan(address, first, last):
        print(f"port {port}: OPEN")


if __name__ == "__main__":
    main()
