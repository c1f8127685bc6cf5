"""Known bug: serves a fixed number of requests (handle_request() in a loop of 100).

serve_forever() serves forever; this server exits after 100 clients:
robustness/sequential-clients fails part-way, and only it.
"""
import socketserver

from _upper import run


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline(1024).strip().upper() + b"\n")


run(Handler, requests=100)
