"""Bug: STOR stores what the first recv() returned, as if it were the whole file.

Fails transfer/stor (a 5 MiB upload arrives in many pieces); the probes
that depend on it are skipped.
"""
from _ftp import Session, run


class OneRecvSession(Session):
    def receive(self, data, handle):
        handle.write(data.recv(10 * 1024 * 1024))


run(OneRecvSession)
