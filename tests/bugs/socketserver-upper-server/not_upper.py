"""Known bug (docs/labs.md §5): the line is not upper-cased.

Replies with the stripped line as it came: upper/one-line fails (hint:
upper-case the line), and every probe that depends on it is skipped.
"""
import socketserver

from _upper import run


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline(1024).strip() + b"\n")


run(Handler)
