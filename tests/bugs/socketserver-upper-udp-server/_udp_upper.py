"""Shared skeleton for the UDP socketserver known-bug servers.

Each bug file defines a handler class and calls ``run(Handler)``.
"""
import socketserver
import sys


class Server(socketserver.UDPServer):
    allow_reuse_address = True
    max_packet_size = 65507


class ThreadingServer(socketserver.ThreadingMixIn, Server):
    daemon_threads = True


def run(handler, server_class=Server, poll_interval=0.5):
    with server_class((sys.argv[1], int(sys.argv[2])), handler) as server:
        server.serve_forever(poll_interval=poll_interval)
