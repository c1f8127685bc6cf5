"""Bug: only TYPE A is accepted; TYPE I gets 504.

Fails session/type-i; RETR and STOR (which ask for TYPE I first) are
skipped.
"""
from _ftp import Session, run


class AsciiSession(Session):
    def do_TYPE(self, arg):
        if arg.upper() == "A":
            self.reply("200 Type set to A.")
        else:
            self.reply("504 Only ASCII.")


run(AsciiSession)
