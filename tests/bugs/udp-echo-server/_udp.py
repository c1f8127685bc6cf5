"""Shared skeleton for the UDP echo known-bug servers: a bound socket and a serve loop.

Each bug file defines ``serve(sock)`` and calls ``run(serve)``.
"""
import socket
import sys


def run(serve):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((sys.argv[1], int(sys.argv[2])))
    serve(sock)
