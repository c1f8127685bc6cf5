"""Known bug (docs/labs.md §5): the reply lacks its "\\n".

The socketserver documentation's example writes ``self.data.upper()`` with
no newline; this handout's reply is a line.  upper/one-line fails (hint: the
reply must end with \\n) and every dependent probe is skipped.
"""
import socketserver

from _upper import run


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline(1024).strip().upper())


run(Handler)
