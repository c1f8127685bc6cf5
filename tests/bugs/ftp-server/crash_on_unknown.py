"""Bug: commands are looked up in a dict without a default: an unknown one raises KeyError.

The session's thread dies without a reply.  Fails protocol/unknown-command.
"""
from _ftp import Session, run


class DictSession(Session):
    def unknown(self, verb, arg):
        commands = {"USER": self.do_USER, "PASS": self.do_PASS}
        commands[verb](arg)


run(DictSession)
