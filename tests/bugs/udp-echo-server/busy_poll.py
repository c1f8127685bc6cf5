"""Known bug: a non-blocking socket polled in a tight loop - 100% CPU while idle.

resources/idle-cpu fails, and only it.
"""
from _udp import run


def serve(sock):
    sock.setblocking(False)
    while True:
        try:
            data, address = sock.recvfrom(65535)
        except BlockingIOError:
            continue  # spins
        sock.sendto(data, address)


run(serve)
