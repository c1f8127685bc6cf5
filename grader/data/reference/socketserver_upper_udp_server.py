"""Reference UDP upper-case server built on socketserver (lab 5, UDPServer variant).

Usage: python socketserver_upper_udp_server.py HOST PORT

Each datagram is one request; the reply is one datagram holding the
request stripped of surrounding whitespace and upper-cased (no newline is
added: the datagram's boundary ends it), sent back to the address the
request came from.  Standard library only.
"""

import contextlib
import socketserver
import sys


class UpperHandler(socketserver.BaseRequestHandler):
    """Serves one datagram: for UDP, self.request is (data, socket)."""

    def handle(self):
        data, sock = self.request
        # Reply with the server's own socket, to the sender's address: a new
        # socket would have another port, and clients ignore strangers.
        sock.sendto(data.strip().upper(), self.client_address)


class UpperUDPServer(socketserver.UDPServer):
    allow_reuse_address = True
    # UDPServer reads datagrams with recvfrom(max_packet_size); the default
    # (8192) would cut bigger datagrams short.  65507 is the IPv4 maximum.
    max_packet_size = 65507


def main():
    if len(sys.argv) != 3:
        print("usage: socketserver_upper_udp_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with UpperUDPServer((host, port), UpperHandler) as server:
        print(f"UDP upper server on {host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
