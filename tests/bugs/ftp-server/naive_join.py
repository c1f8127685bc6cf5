"""Bug: paths are joined to the folder with os.path.join and never checked.

The current folder is kept as a real path; '..' climbs out of ROOT and an
absolute path replaces it, for CWD, RETR and STOR alike.  Fails
security/cwd-traversal, security/retr-traversal and security/stor-traversal.
"""
import os

from _ftp import ROOT, Session, run


class NaiveSession(Session):
    here = ROOT

    def real(self, arg):
        return os.path.normpath(os.path.join(self.here, arg))

    def do_CWD(self, arg):
        new = self.real(arg or "/")
        if os.path.isdir(new):
            self.here = new
            rel = os.path.relpath(new, ROOT)
            self.cwd = "/" if rel == "." else "/" + rel
            self.reply("250 OK.")
        else:
            self.reply("550 No such directory.")


run(NaiveSession)
