"""Known bug: the handler polls a non-blocking socket for the request (a busy wait).

It spins on BlockingIOError until the line arrives: 100% CPU while a
connected client is silent (resources/idle-cpu-client fails); with no
client, serve_forever() blocks normally (resources/idle-cpu passes).
"""
import socketserver

from _upper import run


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.setblocking(False)
        buffer = b""
        while b"\n" not in buffer:
            try:
                data = self.request.recv(1024)
            except BlockingIOError:
                continue  # spins
            if not data:
                return
            buffer += data
        self.request.setblocking(True)
        self.request.sendall(buffer.strip().upper() + b"\n")


run(Handler)
