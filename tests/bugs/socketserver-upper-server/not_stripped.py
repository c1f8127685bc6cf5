"""Known bug (docs/labs.md §5): the line is not stripped.

Upper-cases the line as read (its "\\n" included), so a clean line gets the
right reply, but surrounding spaces and tabs come back: upper/strips fails,
and only it.
"""
import socketserver

from _upper import run


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline(1024).upper())


run(Handler)
