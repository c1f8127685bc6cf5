"""Known bug: the reply is sent from a new socket (another port).

The client sent to the server's port; the reply comes from a fresh
ephemeral port, so real clients (connected sockets) never see it.
echo/one-datagram fails naming the port the reply came from; every other
probe is skipped.
"""
import socket

from _udp import run


def serve(sock):
    while True:
        data, address = sock.recvfrom(65535)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.sendto(data, address)


run(serve)
