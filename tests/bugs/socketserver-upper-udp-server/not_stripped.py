"""Known bug (docs/labs.md §5, UDP variant): the datagram is not stripped.

Clean requests get the right reply; surrounding whitespace comes back
upper-cased: upper/strips fails, and only it.
"""
import socketserver

from _udp_upper import run


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.upper(), self.client_address)


run(Handler)
