"""Bug: SYST is not implemented (ftplib never sends it, but other clients do).

Fails session/syst.
"""
from _ftp import Session, run


class NoSystSession(Session):
    do_SYST = None


run(NoSystSession)
