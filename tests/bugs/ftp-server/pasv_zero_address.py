"""Bug: the passive listener is bound to 0.0.0.0 and its own address is put in the 227 reply.

227 Entering Passive Mode (0,0,0,0,p1,p2): ftplib (which uses the control
connection's address by default) still transfers, but no client can
connect to 0.0.0.0.  Fails pasv/address.
"""
from _ftp import Session, run


class ZeroSession(Session):
    def passive_host(self):
        return "0.0.0.0"


run(ZeroSession)
