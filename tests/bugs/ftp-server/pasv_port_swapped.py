"""Bug: p1 and p2 of the 227 reply are swapped (low byte first).

The client connects to the wrong port.  Fails pasv/data-connection; every
probe that needs a transfer is skipped.
"""
from _ftp import Session, run


class SwappedSession(Session):
    def pasv_numbers(self, host, port):
        return host.split(".") + [str(port % 256), str(port // 256)]


run(SwappedSession)
