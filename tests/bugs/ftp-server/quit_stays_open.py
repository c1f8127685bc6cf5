"""Bug: QUIT is answered with 221 but the session goes on reading.

Fails shutdown/quit (the connection is closed only when the client closes it).
"""
from _ftp import Session, run


class StaySession(Session):
    def quit(self):
        self.reply("221 Goodbye.")
        return False


run(StaySession)
