"""Known bug: serve_forever(poll_interval=0) - a busy loop while idle.

With a zero poll interval serve_forever() polls its socket without ever
blocking: 100% CPU with no client (resources/idle-cpu fails).  While a
client is connected the plain TCPServer is inside the handler, blocked in
readline(), so resources/idle-cpu-client passes.
"""
import socketserver

from _upper import run


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(self.rfile.readline(1024).strip().upper() + b"\n")


run(Handler, poll_interval=0)
