"""Bug: command lines are stripped of '\\n' only, so PASS compares 'secret\\r' with 'secret'.

Every login fails with 530.  Fails session/login; everything that needs a
login is skipped.
"""
from _ftp import Session, run


class CrSession(Session):
    def read_command(self):
        line = self.lines.readline(4096)
        return line.decode().rstrip("\n") if line else None

    def run(self):
        self.reply("220 FTP server ready.")
        while True:
            text = self.read_command()
            if text is None:
                return
            verb, _, arg = text.partition(" ")
            verb = verb.strip().upper()
            if verb == "QUIT":
                self.quit()
                return
            handler = getattr(self, "do_" + verb, None)
            if handler is None:
                self.unknown(verb, arg)
            elif not self.logged_in and verb not in ("USER", "PASS"):
                self.reply("530 Log in first.")
            else:
                handler(arg.rstrip("\r") if verb != "PASS" else arg)


run(CrSession)
