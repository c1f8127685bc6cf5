"""Known bug (docs/labs.md §6): replies to a fixed address.

The reply goes to the client address written in the handout
(127.0.0.1:50007), not to the address recvfrom() returned: no reply ever
reaches the grader, so echo/one-datagram fails and every other probe is
skipped.
"""
from _udp import run

CLIENT = ("127.0.0.1", 50007)


def serve(sock):
    while True:
        data, _ = sock.recvfrom(65535)
        sock.sendto(data, CLIENT)


run(serve)
