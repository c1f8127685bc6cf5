"""Known bug (docs/labs.md §3): busy loop while idle (POLLOUT always requested).

Every client is registered for POLLIN | POLLOUT for its whole life.  A
connected socket is nearly always writable, so poll() returns at once,
forever: 100% CPU while a client is connected and silent.  The echo is
correct, so only resources/idle-cpu-client fails.
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
conns, queues, done = {}, {}, set()


def drop(fd):
    poller.unregister(fd)
    conns.pop(fd).close()
    del queues[fd]
    done.discard(fd)


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
            poller.register(conn, select.POLLIN | select.POLLOUT)  # BUG: POLLOUT always
            continue
        if fd not in conns:
            continue
        conn = conns[fd]
        if event & (select.POLLIN | select.POLLHUP | select.POLLERR) and fd not in done:
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                drop(fd)
                continue
            if data:
                queues[fd] += data
            elif data == b"":
                if not queues[fd]:
                    drop(fd)
                    continue
                done.add(fd)
                poller.modify(fd, select.POLLOUT)
        if event & select.POLLOUT and queues[fd]:
            try:
                sent = conn.send(queues[fd])
            except BlockingIOError:
                sent = 0
            except OSError:
                drop(fd)
                continue
            del queues[fd][:sent]
            if fd in done and not queues[fd]:
                drop(fd)
