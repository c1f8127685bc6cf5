"""Known bug: Python 2 code (``import SocketServer``, print statement).

Crashes at start under Python 3 (ModuleNotFoundError): startup/listens fails
with a hint naming Python 2 module names; every other probe is skipped.
"""
import SocketServer
import sys


class Handler(SocketServer.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline().strip().upper() + "\n")


server = SocketServer.TCPServer((sys.argv[1], int(sys.argv[2])), Handler)
print "listening"
server.serve_forever()
