"""Bug: LIST always lists ROOT (os.listdir(ROOT)), whatever the current folder.

Fails transfer/list.
"""
from _ftp import ROOT, Session, run


class RootListSession(Session):
    def real(self, arg):
        return ROOT if arg == "." else super().real(arg)


run(RootListSession)
