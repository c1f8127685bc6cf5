"""Bug: the current folder is a global, shared by every client.

Each new client resets it to '/', so one client at a time works; two at
once see each other's CWD.  Fails concurrency/two-sessions.
"""
from _ftp import Session, run

current = "/"


class GlobalSession(Session):
    def __init__(self, conn):
        global current
        super().__init__(conn)
        current = "/"

    @property
    def cwd(self):
        return current

    @cwd.setter
    def cwd(self, value):
        global current
        current = value


run(GlobalSession)
