"""Known bug (docs/labs.md §3 ("busy loop while idle"), in a chat server): select() polled with
a zero timeout.

A single-threaded select() server with per-member FIFO outboxes, right in
every other respect, but it calls ``selector.select(timeout=0)``, which
returns at once when nothing is ready: 100% CPU while the room is idle.
resources/idle-cpu fails, and only it.
"""
import selectors
import socket
import sys

PROMPT = "Masukkan username: "
WELCOME = "Selamat datang di server chat!"
JOIN = "{name} telah bergabung ke chat"
MESSAGE = "{name}: {line}"
LEAVE = "{name} telah meninggalkan chat"

selector = selectors.DefaultSelector()
members = {}  # socket -> {"name": str | None, "inbox": bytes, "outbox": [bytes]}


def queue(sock, data):
    members[sock]["outbox"].append(data)
    selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, "member")


def broadcast(text, sender):
    for sock, member in members.items():
        if sock is not sender and member["name"] is not None:
            queue(sock, (text + "\n").encode())


def drop(sock):
    member = members.pop(sock, None)
    if member is None:
        return
    selector.unregister(sock)
    sock.close()
    if member["name"] is not None:
        broadcast(LEAVE.format(name=member["name"]), sock)


def read(sock):
    try:
        data = sock.recv(65536)
    except OSError:
        drop(sock)
        return
    if not data:
        drop(sock)
        return
    member = members[sock]
    member["inbox"] += data
    while b"\n" in member["inbox"]:
        raw, member["inbox"] = member["inbox"].split(b"\n", 1)
        line = raw.decode("utf-8", "replace")
        if member["name"] is None:
            member["name"] = line.strip()
            queue(sock, (WELCOME + "\n").encode())
            broadcast(JOIN.format(name=member["name"]), sock)
        else:
            broadcast(MESSAGE.format(name=member["name"], line=line), sock)


def flush(sock):
    outbox = members[sock]["outbox"]
    try:
        while outbox:
            data = outbox.pop(0)
            sent = sock.send(data)
            if sent < len(data):
                outbox.insert(0, data[sent:])
                return
    except BlockingIOError:
        outbox.insert(0, data)
        return
    except OSError:
        drop(sock)
        return
    selector.modify(sock, selectors.EVENT_READ, "member")


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
server.setblocking(False)
selector.register(server, selectors.EVENT_READ, "listener")
while True:
    for key, mask in selector.select(timeout=0):  # BUG: returns at once, forever
        if key.data == "listener":
            conn, _ = server.accept()
            conn.setblocking(False)
            members[conn] = {"name": None, "inbox": b"", "outbox": []}
            selector.register(conn, selectors.EVENT_READ, "member")
            queue(conn, PROMPT.encode())
            continue
        sock = key.fileobj
        if mask & selectors.EVENT_READ and sock in members:
            read(sock)
        if mask & selectors.EVENT_WRITE and sock in members:
            flush(sock)
