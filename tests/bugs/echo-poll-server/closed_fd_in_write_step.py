"""Known bug (docs/labs.md §3): a descriptor closed on EOF is still used for POLLOUT.

Echo what can be sent at once and queue the rest (POLLOUT while queued);
but on recv() == b'' the POLLIN step unregisters and closes the socket and
deletes its queue at once.  When the client half-closes while its echo is
still queued, the same event also carries POLLOUT, and the write step looks
the descriptor up again: KeyError, and the server crashes (and the queued
echo is lost either way).  Fails concurrency/half-close-queued, and
concurrency/non-reading-client: when the client that never read resets, its
event carries POLLIN|POLLERR|POLLOUT with its echo queued: KeyError.
"""
import select
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
server.setblocking(False)
poller = select.poll()
poller.register(server, select.POLLIN)
conns, queues = {}, {}
while True:
    for fd, event in poller.poll():
        if fd == server.fileno():
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            conns[conn.fileno()] = conn
            queues[conn.fileno()] = bytearray()
            poller.register(conn, select.POLLIN)
            continue
        if event & (select.POLLIN | select.POLLHUP | select.POLLERR):
            try:
                data = conns[fd].recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            if data:
                queue = queues[fd]
                queue += data
                try:
                    del queue[: conns[fd].send(queue)]  # send what we can now, queue the rest
                except OSError:
                    pass
            elif data == b"":  # BUG: closes now, even with output still queued
                poller.unregister(fd)
                conns.pop(fd).close()
                del queues[fd]
        if event & select.POLLOUT:
            queue = queues[fd]  # BUG: KeyError when the POLLIN step just closed it
            try:
                sent = conns[fd].send(queue)
            except BlockingIOError:
                sent = 0
            except OSError:
                sent = len(queue)
            del queue[:sent]
        if fd in conns:
            poller.modify(fd, select.POLLIN | (select.POLLOUT if queues[fd] else 0))
