"""Reference chat server (lab 7 of the sockgrade lab catalogue).

Usage: python chat_server.py HOST PORT

A line-based chat room (UTF-8 lines ending in "\\n").  A new client gets
the prompt; its first line is its username.  The joiner then gets the
welcome line and every other member the join notice.  Each later line L
from a member goes to every *other* member as "<name>: L".  When a member
leaves (closes or resets its connection) the others get the leave notice.

Design: one thread and the selectors module.  Every socket is
non-blocking, and every member has its own output queue (a bytearray):
broadcasting only appends to queues, and a member's queue is written out
whenever its socket can take more.  So a member that never reads only
grows its own queue; it cannot freeze the room, as a blocking sendall()
to it would.  (A production server would also cap that queue and drop a
member that falls too far behind.)  Input is buffered per member and cut
at "\\n", because one recv() may hold part of a line or several lines.
Standard library only.
"""

import contextlib
import selectors
import socket
import sys

# The handout's strings.  A course with other strings changes these five lines.
PROMPT = "Masukkan username: "
WELCOME = "Selamat datang di server chat!"
JOIN = "{name} telah bergabung ke chat"
MESSAGE = "{name}: {line}"
LEAVE = "{name} telah meninggalkan chat"

#: The longest line accepted, in bytes; a member that sends more without "\n" is dropped.
MAX_LINE = 64 * 1024


class Member:
    """One connected client: its socket, its name (None until it sent one), its buffers."""

    def __init__(self, sock):
        self.sock = sock
        self.name = None
        self.inbox = bytearray()   # received bytes not yet forming a whole line
        self.outbox = bytearray()  # bytes waiting to be sent to this member


class ChatServer:
    def __init__(self, host, port):
        self.selector = selectors.DefaultSelector()
        self.members = {}  # socket -> Member
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, None)

    def serve_forever(self):
        while True:
            # Blocks until some socket is ready: no busy loop while idle.
            for key, mask in self.selector.select():
                if key.data is None:
                    self.accept()
                    continue
                member = key.data
                if member.sock not in self.members:  # dropped earlier in this batch
                    continue
                if mask & selectors.EVENT_READ:
                    self.read(member)
                # read() may have dropped the member: check before writing.
                if mask & selectors.EVENT_WRITE and member.sock in self.members:
                    self.flush(member)

    # -- connections -------------------------------------------------------

    def accept(self):
        try:
            sock, _ = self.listener.accept()
        except OSError:  # the client gave up before we accepted it
            return
        sock.setblocking(False)
        member = Member(sock)
        self.members[sock] = member
        self.selector.register(sock, selectors.EVENT_READ, member)
        self.queue(member, PROMPT.encode())

    def drop(self, member):
        """Forget a member that left (closed, reset, or misbehaved) and tell the others."""
        if self.members.pop(member.sock, None) is None:
            return  # already dropped
        self.selector.unregister(member.sock)
        member.sock.close()
        if member.name is not None:
            self.broadcast(LEAVE.format(name=member.name), sender=member)

    # -- reading -----------------------------------------------------------

    def read(self, member):
        try:
            data = member.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:  # ConnectionResetError and friends: the member is gone
            self.drop(member)
            return
        if not data:  # b"" means the member closed its side
            self.drop(member)
            return
        member.inbox += data
        # Handle every complete line; keep a partial one for the next recv().
        while member.sock in self.members:
            end = member.inbox.find(b"\n")
            if end < 0:
                break
            raw = bytes(member.inbox[:end])
            del member.inbox[: end + 1]
            self.handle_line(member, raw.decode("utf-8", "replace").rstrip("\r"))
        if len(member.inbox) > MAX_LINE:
            self.drop(member)

    def handle_line(self, member, line):
        if member.name is None:  # the first line is the username
            member.name = line.strip()
            self.queue(member, (WELCOME + "\n").encode())
            self.broadcast(JOIN.format(name=member.name), sender=member)
        else:
            self.broadcast(MESSAGE.format(name=member.name, line=line), sender=member)

    # -- writing -----------------------------------------------------------

    def broadcast(self, text, sender):
        """Queue ``text`` for every named member except ``sender``."""
        data = (text + "\n").encode()
        for member in self.members.values():  # only queues: the table is not changed here
            if member is not sender and member.name is not None:
                self.queue(member, data)

    def queue(self, member, data):
        if not member.outbox:  # now there is something to send: watch for writability
            self.selector.modify(member.sock, selectors.EVENT_READ | selectors.EVENT_WRITE,
                                 member)
        member.outbox += data

    def flush(self, member):
        try:
            sent = member.sock.send(member.outbox)  # may send only part of it
        except BlockingIOError:
            return
        except OSError:  # the member reset its connection
            self.drop(member)
            return
        del member.outbox[:sent]
        if not member.outbox:  # nothing left: stop watching for writability (no busy loop)
            self.selector.modify(member.sock, selectors.EVENT_READ, member)


def main():
    if len(sys.argv) != 3:
        print("usage: chat_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    server = ChatServer(host, port)
    print(f"chat server listening on {host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
