"""Reference UDP echo server (lab 6 of the sockgrade lab catalogue).

Usage: python udp_echo_server.py HOST PORT

Every datagram is sent back unchanged, as one datagram, to the address it
came from.  UDP keeps message boundaries, so there is no framing to do: one
recvfrom() is exactly one datagram, and an empty datagram (b"") is a
datagram like any other, not an end of stream.  Standard library only.
"""

import contextlib
import socket
import sys

#: The largest UDP payload over IPv4 (65535 - 8-byte UDP header - 20-byte IP header).
#: recvfrom(n) with a smaller n silently drops the rest of a bigger datagram.
MAX_DATAGRAM = 65507


def main():
    if len(sys.argv) != 3:
        print("usage: udp_echo_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        print(f"UDP echo server on {host}:{port}", flush=True)
        while True:
            # Blocks until a datagram arrives: no busy loop while idle.
            data, address = sock.recvfrom(MAX_DATAGRAM)
            try:
                # Reply to *this* datagram's sender, with the same socket.
                sock.sendto(data, address)
            except OSError as exc:  # e.g. the sender's address is unreachable
                print(f"reply to {address}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
