"""Bug: the data connection is kept (self.data) and never closed after a transfer.

The client waits for the data connection's EOF, which never comes, so it
never sees the end of a LIST or RETR.  Fails pasv/data-connection; every
probe that needs a transfer is skipped.
"""
from _ftp import Session, run


class KeepSession(Session):
    def send_data(self, chunks):
        self.data = self.open_data()
        if self.data is None:
            self.reply("425 No data connection.")
            return
        self.reply("150 Here it comes.")
        for chunk in chunks:
            self.data.sendall(chunk)
        self.reply("226 Transfer complete.")


run(KeepSession)
