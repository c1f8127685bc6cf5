"""Known bug: Python 2 code (``import SocketServer``, print statement), UDP variant.

Crashes at start: startup/bound fails; every other probe is skipped.
"""
import SocketServer
import sys


class Handler(SocketServer.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.strip().upper(), self.client_address)


server = SocketServer.UDPServer((sys.argv[1], int(sys.argv[2])), Handler)
print "listening"
server.serve_forever()
