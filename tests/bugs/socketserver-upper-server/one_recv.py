"""Known bug (docs/labs.md §5): one recv(1024) taken as the whole request.

The handler answers whatever the first recv() returned.  On loopback a line
written at once arrives at once, so most probes pass; a request written one
byte at a time gets its first byte answered ("H\\n"), so
partial/split-request fails, and only it.
"""
import socketserver

from _upper import run


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(1024)
        self.request.sendall(data.strip().upper() + b"\n")


run(Handler)
