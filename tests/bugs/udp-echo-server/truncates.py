"""Known bug (docs/labs.md §6): recvfrom(1024) truncates big datagrams.

The kernel keeps the first 1024 bytes of a bigger datagram and drops the
rest: echo/max-datagram (65,507 bytes) fails, and so does echo/boundaries
(its 1,400- and 3,000-byte datagrams come back as 1,024 bytes).
"""
from _udp import run


def serve(sock):
    while True:
        data, address = sock.recvfrom(1024)
        sock.sendto(data, address)


run(serve)
