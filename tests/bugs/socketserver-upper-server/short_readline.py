"""Known bug (docs/labs.md §5): requests are cut at 256 bytes (readline(256)).

A request may be up to 1024 bytes: partial/max-line fails, and only it.
"""
import socketserver

from _upper import run


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline(256).strip().upper() + b"\n")


run(Handler)
