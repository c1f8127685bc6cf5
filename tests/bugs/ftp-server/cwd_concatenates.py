"""Bug: CWD appends the argument to the current folder as a string ('/docs' + '/..').

The folder exists on disk, but PWD then says '/docs/..'.  Fails
session/cwd; the probes that need CWD are skipped.
"""
import os

from _ftp import Session, run


class ConcatSession(Session):
    def do_CWD(self, arg):
        new = arg if arg.startswith("/") else self.cwd.rstrip("/") + "/" + arg
        if os.path.isdir(self.real(arg)):
            self.cwd = new
            self.reply("250 OK.")
        else:
            self.reply("550 No such directory.")


run(ConcatSession)
