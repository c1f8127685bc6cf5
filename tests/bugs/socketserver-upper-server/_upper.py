"""Shared skeleton for the socketserver known-bug servers: a server class and main().

Each bug file defines a handler class and calls ``run(Handler)``; options
choose the server class and how it serves.
"""
import socketserver
import sys


class Server(socketserver.TCPServer):
    allow_reuse_address = True
    request_queue_size = 64


class ThreadingServer(socketserver.ThreadingMixIn, Server):
    daemon_threads = True


def run(handler, server_class=Server, poll_interval=0.5, requests=None):
    host, port = sys.argv[1], int(sys.argv[2])
    with server_class((host, port), handler) as server:
        if requests is None:
            server.serve_forever(poll_interval=poll_interval)
        else:
            for _ in range(requests):
                server.handle_request()
