"""Known bug (docs/labs.md §5, UDP variant): the datagram is not upper-cased.

upper/one-datagram fails (hint: upper-case), every other probe is skipped.
"""
import socketserver

from _udp_upper import run


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.strip(), self.client_address)


run(Handler)
