"""Bug: the server waits for the client's first command before it says anything.

An FTP client waits for the 220 greeting first, so nobody ever speaks.
Fails session/greeting; everything after it is skipped.
"""
from _ftp import Session, run


class LateSession(Session):
    def run(self):
        first = self.read_command()
        if first is None:
            return
        self.reply("220 FTP server ready.")
        super().run()


run(LateSession)
