"""Known bug (docs/labs.md §5): one recv(1024) taken as the whole request, with ThreadingMixIn.

Concurrency is right, framing is not: a request written one byte at a time
gets its first byte answered, so partial/split-request fails, and only it.
"""
import socketserver
import sys


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(1024)
        self.request.sendall(data.strip().upper() + b"\n")


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


with Server((sys.argv[1], int(sys.argv[2])), Handler) as server:
    server.serve_forever()
