"""Shared skeleton for the ftp-server known-bug programs: a correct server in pieces.

Each bug file subclasses :class:`Session` and replaces one method (reading a
command, resolving a path, checking the password, the PASV reply, sending or
receiving a file, an unknown command, QUIT), or serves clients one at a time,
and calls ``run()``; the bug is the only difference from a correct server.
Started as ``python BUG.py HOST PORT ROOT``.
"""
import os
import posixpath
import socket
import sys
import threading

USER = "student"
PASSWORD = "secret"
ROOT = os.path.realpath(sys.argv[3])


class Session:
    def __init__(self, conn):
        self.conn = conn
        self.lines = conn.makefile("rb")
        self.user = None
        self.logged_in = False
        self.cwd = "/"
        self.passive = None

    def reply(self, text):
        self.conn.sendall(text.encode() + b"\r\n")

    # pieces a bug may replace --------------------------------------------------------

    def read_command(self):
        """The next command line without its line end; None at EOF."""
        line = self.lines.readline(4096)
        return line.decode("utf-8", "replace").rstrip("\r\n") if line else None

    def virtual(self, arg):
        return "/" + posixpath.normpath(posixpath.join(self.cwd, arg)).lstrip("/")

    def real(self, arg):
        return os.path.join(ROOT, self.virtual(arg).lstrip("/"))

    def password_ok(self, user, password):
        return user == USER and password == PASSWORD

    def passive_host(self):
        return self.conn.getsockname()[0]

    def pasv_numbers(self, host, port):
        return host.split(".") + [str(port // 256), str(port % 256)]

    def file_chunks(self, handle):
        return iter(lambda: handle.read(65536), b"")

    def receive(self, data, handle):
        while True:
            chunk = data.recv(65536)
            if not chunk:
                return
            handle.write(chunk)

    def unknown(self, verb, arg):
        self.reply("502 Command not implemented.")

    def quit(self):
        """Answer QUIT; True ends the session."""
        self.reply("221 Goodbye.")
        return True

    # the rest --------------------------------------------------------------------------

    def open_data(self):
        listener, self.passive = self.passive, None
        if listener is None:
            return None
        with listener:
            listener.settimeout(30)
            try:
                data, _ = listener.accept()
            except OSError:
                return None
        data.settimeout(None)
        return data

    def send_data(self, chunks):
        data = self.open_data()
        if data is None:
            self.reply("425 No data connection.")
            return
        self.reply("150 Here it comes.")
        with data:
            for chunk in chunks:
                data.sendall(chunk)
        self.reply("226 Transfer complete.")

    def run(self):
        self.reply("220 FTP server ready.")
        while True:
            text = self.read_command()
            if text is None:
                return
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                if self.quit():
                    return
                continue
            handler = getattr(self, "do_" + verb, None) if verb.isalpha() else None
            if handler is None:
                self.unknown(verb, arg)
            elif not self.logged_in and verb not in ("USER", "PASS"):
                self.reply("530 Log in first.")
            else:
                handler(arg)

    def do_USER(self, arg):
        self.user, self.logged_in = arg, False
        self.reply("331 Password please.")

    def do_PASS(self, arg):
        if self.password_ok(self.user, arg):
            self.logged_in = True
            self.reply("230 Logged in.")
        else:
            self.reply("530 Login incorrect.")

    def do_SYST(self, arg):
        self.reply("215 UNIX Type: L8")

    def do_PWD(self, arg):
        self.reply('257 "' + self.cwd + '"')

    def do_CWD(self, arg):
        if os.path.isdir(self.real(arg or "/")):
            self.cwd = self.virtual(arg or "/")
            self.reply("250 OK.")
        else:
            self.reply("550 No such directory.")

    def do_TYPE(self, arg):
        self.reply("200 Type set.")

    def do_PASV(self, arg):
        if self.passive is not None:
            self.passive.close()
        self.passive = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.passive.bind((self.passive_host(), 0))
        self.passive.listen(1)
        host, port = self.passive.getsockname()
        self.reply("227 Entering Passive Mode (" + ",".join(self.pasv_numbers(host, port)) + ")")

    def do_LIST(self, arg):
        path = self.real(arg or ".")
        if not os.path.isdir(path):
            self.reply("550 No such directory.")
            return
        lines = "".join("-rw-r--r-- 1 ftp ftp 0 Jan 01 00:00 " + name + "\r\n"
                        for name in sorted(os.listdir(path)))
        self.send_data([lines.encode()])

    def do_RETR(self, arg):
        path = self.real(arg)
        if not os.path.isfile(path):
            self.reply("550 No such file.")
            return
        with open(path, "rb") as handle:
            self.send_data(self.file_chunks(handle))

    def do_STOR(self, arg):
        path = self.real(arg)
        if not os.path.isdir(os.path.dirname(path)) or os.path.isdir(path):
            self.reply("553 Cannot store there.")
            return
        data = self.open_data()
        if data is None:
            self.reply("425 No data connection.")
            return
        self.reply("150 Send it.")
        with data, open(path, "wb") as handle:
            self.receive(data, handle)
        self.reply("226 Stored.")


def serve(session_class, conn):
    session = session_class(conn)
    try:
        session.run()
    except OSError:
        pass
    finally:
        if session.passive is not None:
            session.passive.close()
        session.lines.close()
        conn.close()


def run(session_class=Session, threaded=True):
    host, port = sys.argv[1], int(sys.argv[2])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen()
    while True:
        conn, _ = server.accept()
        if threaded:
            threading.Thread(target=serve, args=(session_class, conn), daemon=True).start()
        else:
            serve(session_class, conn)
