"""Known bug: polls a non-blocking socket with a sleep, one datagram per poll.

"To avoid a busy loop" it sleeps 50 ms between attempts, so it serves at
most 20 datagrams a second: one at a time looks fine, but a burst of 1,000
is not echoed within 10 seconds: load/burst fails, and only it.
"""
import time

from _udp import run


def serve(sock):
    sock.setblocking(False)
    while True:
        try:
            data, address = sock.recvfrom(65535)
            sock.sendto(data, address)
        except BlockingIOError:
            pass
        time.sleep(0.05)


run(serve)
