"""Bug: PWD answers '257 /' without the double quotes around the path.

ftplib finds no path in it.  Fails session/pwd; the probes that check the
current folder with PWD are skipped.
"""
from _ftp import Session, run


class BareSession(Session):
    def do_PWD(self, arg):
        self.reply("257 " + self.cwd)


run(BareSession)
