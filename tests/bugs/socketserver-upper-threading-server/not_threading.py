"""Known bug (docs/labs.md §5, ThreadingMixIn variant): no ThreadingMixIn.

A plain TCPServer serves one connection at a time: a client that connects
and stays silent holds up every other one, so concurrency/silent-clients
(required in this variant) fails, and only it.
"""
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline(1024).strip().upper() + b"\n")


class Server(socketserver.TCPServer):  # ThreadingMixIn forgotten
    allow_reuse_address = True
    request_queue_size = 64


with Server((sys.argv[1], int(sys.argv[2])), Handler) as server:
    server.serve_forever()
