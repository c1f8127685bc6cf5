"""Known bug: datagrams decoded as UTF-8 text.

Crashes on the first datagram that is not UTF-8 (UnicodeDecodeError): echo/binary
fails, and so do echo/max-datagram and load/burst, whose payloads are random bytes
(the runner restarts the server after each crash).
"""
from _udp import run


def serve(sock):
    while True:
        data, address = sock.recvfrom(65535)
        text = data.decode("utf-8")
        sock.sendto(text.encode("utf-8"), address)


run(serve)
