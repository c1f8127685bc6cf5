"""Known bug (docs/labs.md §3): a socket closed in the read loop is still used in the write loop.

The textbook select() loop (echo what it can at once, queue the rest for
the write loop): on recv() == b'' the read phase closes the socket and
deletes its output queue at once.  When the client half-closes
while its echo is still queued, that socket is also in this round's
writable list, and the write phase looks up its deleted queue: KeyError,
and the server crashes (and the queued echo is lost either way).  Fails
concurrency/half-close-queued, and concurrency/non-reading-client: when the
client that never read resets, its socket is readable (the error) and
writable in the same round, with its echo queued: KeyError.
"""
import select
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
server.setblocking(False)
inputs = [server]
outputs = []
queues = {}  # socket -> bytearray
while True:
    readable, writable, _ = select.select(inputs, outputs, [])
    for sock in readable:
        if sock is server:
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            inputs.append(conn)
            queues[conn] = bytearray()
            continue
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            queue = queues[sock]
            queue += data
            try:
                del queue[: sock.send(queue)]  # send what we can now...
            except OSError:
                pass
            if queue and sock not in outputs:  # ...and let the write loop send the rest
                outputs.append(sock)
        else:  # BUG: closes now, even with output still queued
            if sock in outputs:
                outputs.remove(sock)
            inputs.remove(sock)
            sock.close()
            del queues[sock]
    for sock in writable:
        queue = queues[sock]  # BUG: KeyError when the read loop just closed it
        try:
            sent = sock.send(queue)
        except BlockingIOError:
            continue
        except OSError:
            sent = len(queue)
        del queue[:sent]
        if not queue:
            outputs.remove(sock)
