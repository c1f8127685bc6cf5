"""Known bug (docs/labs.md §3): a selector registered for writing with nothing to write.

Every client is registered for EVENT_READ | EVENT_WRITE: select() returns at
once, forever, while any client is connected: 100% CPU with an idle client
(and none without clients).
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
server.setblocking(False)
sel.register(server, selectors.EVENT_READ)
pending = {}
while True:
    for key, events in sel.select():
        sock = key.fileobj
        if sock is server:
            conn, _ = server.accept()
            conn.setblocking(False)
            pending[conn] = bytearray()
            sel.register(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
            continue
        if events & selectors.EVENT_READ:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(sock)
                del pending[sock]
                sock.close()
                continue
            pending[sock] += data
        if events & selectors.EVENT_WRITE and pending[sock]:
            try:
                sent = sock.send(pending[sock])
            except OSError:
                sent = len(pending[sock])
            del pending[sock][:sent]
