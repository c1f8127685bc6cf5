"""Bug: one recv() is taken as one whole command line.

A command that arrives in two segments is read as two commands.  Fails
partial/split-command.
"""
from _ftp import Session, run


class RecvSession(Session):
    def read_command(self):
        data = self.conn.recv(1024)
        if not data:
            return None
        return data.decode("utf-8", "replace").strip()


run(RecvSession)
