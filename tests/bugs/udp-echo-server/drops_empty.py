"""Known bug (docs/labs.md §6): empty datagrams are dropped.

Stream habits: ``if not data: continue`` treats b"" as nothing, but over
UDP it is a datagram of length zero that must be echoed.
echo/empty-datagram fails, and only it.
"""
from _udp import run


def serve(sock):
    while True:
        data, address = sock.recvfrom(65535)
        if not data:
            continue
        sock.sendto(data, address)


run(serve)
