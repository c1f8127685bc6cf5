"""Known bug: serve_forever(poll_interval=0) - a busy loop while idle (UDP variant).

resources/idle-cpu fails, and only it.
"""
import socketserver

from _udp_upper import run


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.strip().upper(), self.client_address)


run(Handler, poll_interval=0)
