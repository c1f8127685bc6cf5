"""A small FTP server (RFC 959 subset): the reference solution of lab 13.

Usage: python ftp_server.py HOST PORT ROOT

ROOT is the folder served; clients see it as "/" and can never leave it.
One user, USER and PASSWORD below. Commands: USER, PASS, SYST, PWD, CWD, CDUP,
TYPE, PASV, LIST, NLST, RETR, STOR, NOOP and QUIT; anything else gets 502.
Transfers are binary (TYPE I; TYPE A is accepted and also sent unchanged) over
a passive-mode data connection. Each client is served by its own thread.
"""
import os
import posixpath
import socket
import sys
import threading
import time

USER = "student"
PASSWORD = "secret"
ROOT = os.path.realpath(sys.argv[3])
DATA_TIMEOUT = 30      # seconds to wait for the client's data connection
MAX_LINE = 4096        # longest command line accepted, in bytes


class Session:
    """One client's control connection: login state, current folder, passive listener."""

    def __init__(self, conn):
        self.conn = conn
        self.lines = conn.makefile("rb")
        self.user = None
        self.logged_in = False
        self.cwd = "/"           # the client's current folder, as the client sees it
        self.passive = None      # listening socket after PASV, until the next transfer

    def reply(self, text):
        self.conn.sendall(text.encode("utf-8") + b"\r\n")

    # -- paths ---------------------------------------------------------------------

    def virtual(self, arg):
        """The client's path ``arg`` made absolute and normalised ('..' stops at '/')."""
        path = posixpath.normpath(posixpath.join(self.cwd, arg))
        return "/" + path.lstrip("/")

    def real(self, arg):
        """Where ``arg`` is on disk: always inside ROOT."""
        return os.path.join(ROOT, self.virtual(arg).lstrip("/"))

    # -- data connection -----------------------------------------------------------

    def open_data(self):
        """Accept the client's data connection on the passive listener (None: no PASV)."""
        listener, self.passive = self.passive, None
        if listener is None:
            return None
        with listener:
            listener.settimeout(DATA_TIMEOUT)
            try:
                data, _ = listener.accept()
            except OSError:   # the client never connected
                return None
        data.settimeout(None)
        return data

    def send_data(self, chunks):
        data = self.open_data()
        if data is None:
            self.reply("425 No data connection: send PASV and connect first.")
            return
        self.reply("150 Opening data connection.")
        with data:
            for chunk in chunks:
                data.sendall(chunk)
        self.reply("226 Transfer complete.")

    # -- commands ----------------------------------------------------------------------

    def run(self):
        self.reply("220 Welcome to the lab 13 FTP server.")
        while True:
            line = self.lines.readline(MAX_LINE)
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                self.reply("221 Goodbye.")
                return
            handler = getattr(self, "do_" + verb, None) if verb.isalpha() else None
            if handler is None:
                self.reply("502 Command not implemented.")
            elif not self.logged_in and verb not in ("USER", "PASS", "SYST", "NOOP"):
                self.reply("530 Please log in with USER and PASS.")
            elif "\0" in arg:
                self.reply("501 Bad argument.")
            else:
                handler(arg)

    def do_USER(self, arg):
        self.user, self.logged_in = arg, False
        self.reply("331 Password required.")

    def do_PASS(self, arg):
        if self.user == USER and arg == PASSWORD:
            self.logged_in = True
            self.reply("230 Logged in.")
        else:
            self.user = None
            self.reply("530 Login incorrect.")

    def do_SYST(self, arg):
        self.reply("215 UNIX Type: L8")

    def do_NOOP(self, arg):
        self.reply("200 OK.")

    def do_PWD(self, arg):
        self.reply('257 "{}" is the current directory.'.format(self.cwd.replace('"', '""')))

    def do_CWD(self, arg):
        if os.path.isdir(self.real(arg or "/")):
            self.cwd = self.virtual(arg or "/")
            self.reply("250 Directory changed to " + self.cwd + ".")
        else:
            self.reply("550 No such directory.")

    def do_CDUP(self, arg):
        self.do_CWD("..")

    def do_TYPE(self, arg):
        if arg.upper() in ("I", "A", "L 8"):
            self.reply("200 Type set to " + arg.upper() + ".")
        else:
            self.reply("504 Type not supported.")

    def do_PASV(self, arg):
        if self.passive is not None:
            self.passive.close()
        host = self.conn.getsockname()[0]   # the address this client reached us on
        self.passive = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.passive.bind((host, 0))
        self.passive.listen(1)
        port = self.passive.getsockname()[1]
        numbers = [*host.split("."), str(port // 256), str(port % 256)]
        self.reply("227 Entering Passive Mode (" + ",".join(numbers) + ").")

    def do_LIST(self, arg):
        self.listing(arg, long=True)

    def do_NLST(self, arg):
        self.listing(arg, long=False)

    def listing(self, arg, long):
        if arg.startswith("-"):          # options such as "-a" are ignored
            arg = ""
        path = self.real(arg or ".")
        if os.path.isdir(path):
            names = sorted(os.listdir(path))
        elif os.path.exists(path):
            names, path = [os.path.basename(path)], os.path.dirname(path)
        else:
            self.reply("550 No such file or directory.")
            return
        lines = []
        for name in names:
            if long:
                try:
                    info = os.stat(os.path.join(path, name))
                except OSError:
                    continue
                kind = "d" if os.path.isdir(os.path.join(path, name)) else "-"
                when = time.strftime("%b %d %H:%M", time.localtime(info.st_mtime))
                lines.append(f"{kind}rw-r--r-- 1 owner group {info.st_size} {when} {name}")
            else:
                lines.append(name)
        self.send_data([("".join(line + "\r\n" for line in lines)).encode("utf-8")])

    def do_RETR(self, arg):
        path = self.real(arg)
        if not os.path.isfile(path):
            self.reply("550 No such file.")
            return
        with open(path, "rb") as handle:
            self.send_data(iter(lambda: handle.read(65536), b""))

    def do_STOR(self, arg):
        path = self.real(arg)
        if not arg or os.path.isdir(path) or not os.path.isdir(os.path.dirname(path)):
            self.reply("553 Cannot store there.")
            return
        data = self.open_data()
        if data is None:
            self.reply("425 No data connection: send PASV and connect first.")
            return
        self.reply("150 Ready to receive.")
        with data, open(path, "wb") as handle:
            while True:
                chunk = data.recv(65536)
                if not chunk:
                    break
                handle.write(chunk)
        self.reply("226 Transfer complete.")


def serve(conn):
    session = Session(conn)
    try:
        session.run()
    except OSError:
        pass   # the client went away (reset, timeout): drop this session only
    finally:
        if session.passive is not None:
            session.passive.close()
        session.lines.close()
        conn.close()


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen()
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
