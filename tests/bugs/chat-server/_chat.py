"""Shared skeleton for the chat known-bug servers: a correct thread-per-member chat room.

One thread reads each member; each member also has a writer thread fed by
its own queue, so broadcasting never blocks on a slow reader.  Every bug
file subclasses :class:`ChatServer`, overrides the one method that holds
its bug, and calls ``run()``.
"""
import queue
import socket
import sys
import threading

PROMPT = "Masukkan username: "
WELCOME = "Selamat datang di server chat!"
JOIN = "{name} telah bergabung ke chat"
MESSAGE = "{name}: {line}"
LEAVE = "{name} telah meninggalkan chat"


class Member:
    def __init__(self, conn):
        self.conn = conn
        self.name = None
        self.outgoing = queue.Queue()
        self.send_lock = threading.Lock()  # for servers that write from several threads
        threading.Thread(target=self.writer, daemon=True).start()

    def send(self, text):
        self.outgoing.put(text.encode())

    def writer(self):
        while True:
            data = self.outgoing.get()
            if data is None:
                return
            try:
                self.conn.sendall(data)
            except OSError:
                return


class ChatServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.members = {}  # conn -> Member

    def run(self):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((sys.argv[1], int(sys.argv[2])))
        server.listen(128)
        self.accept_loop(server)

    def accept_loop(self, server):
        while True:
            conn, _ = server.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        member = Member(conn)
        member.send(PROMPT)
        try:
            self.talk(member)
        except OSError:
            pass
        self.leave(member)

    def talk(self, member):
        for line in self.lines(member.conn):
            if member.name is None:
                member.name = line.strip()
                self.join(member)
            else:
                self.say(member, line)

    def lines(self, conn):
        buffer = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                yield line.decode("utf-8", "replace")

    def join(self, member):
        with self.lock:
            self.members[member.conn] = member
        member.send(WELCOME + "\n")
        self.broadcast(JOIN.format(name=member.name), exclude=member)

    def say(self, member, line):
        self.broadcast(MESSAGE.format(name=member.name, line=line), exclude=member)

    def leave(self, member):
        with self.lock:
            known = self.members.pop(member.conn, None)
        member.outgoing.put(None)
        member.conn.close()
        if known is not None:
            self.broadcast(LEAVE.format(name=member.name), exclude=member)

    def broadcast(self, text, exclude):
        with self.lock:
            others = [m for m in self.members.values() if m is not exclude]
        for other in others:
            other.send(text + "\n")
