"""Bug: CWD never checks that the folder exists and always answers 250.

Fails session/cwd-missing.
"""
from _ftp import Session, run


class BlindSession(Session):
    def do_CWD(self, arg):
        self.cwd = self.virtual(arg or "/")
        self.reply("250 OK.")


run(BlindSession)
