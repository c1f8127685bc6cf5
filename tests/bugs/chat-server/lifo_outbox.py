"""Known bug: each member's output queue is a stack (list.pop() instead of pop(0)).

A select() server with per-member outboxes, right in every other respect.
When several lines wait in a member's outbox at once they go out last
first: lines arriving one at a time are unaffected, but three lines in one
segment come out reversed (partial/coalesced fails) and so do the bursts of
20 members talking at once (message/order-20 fails: the same lines, in
another order), and the 8 MiB of lines of the two non-reader probes.
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
            data = outbox.pop()  # BUG: takes the newest line first
            sent = sock.send(data)
            if sent < len(data):
                outbox.append(data[sent:])
                return
    except BlockingIOError:
        outbox.append(data)
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
    for key, mask in selector.select():
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
