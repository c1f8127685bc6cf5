"""Known bug (docs/labs.md §3): a partial send() on a non-blocking socket drops the rest.

Non-blocking sockets, a per-client queue and POLLOUT only while it is
non-empty, but the write step calls send(queue) and then empties the whole
queue, ignoring the count send() returned: under backpressure the rest is
lost.  Fails partial/backpressure and concurrency/half-close-queued.
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
            poller.register(conn, select.POLLIN)
            continue
        if fd not in conns:
            continue
        conn = conns[fd]
        if event & (select.POLLIN | select.POLLHUP | select.POLLERR) and fd not in done:
            try:
                data = conn.recv(1024 * 1024)  # big reads: big sends, often only partly taken
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
        if event & select.POLLOUT and queues[fd]:
            try:
                conn.send(queues[fd])  # BUG: may send only part...
            except BlockingIOError:
                pass
            except OSError:
                drop(fd)
                continue
            else:
                queues[fd].clear()     # ...and the rest is thrown away
            if fd in done and not queues[fd]:
                drop(fd)
                continue
        mask = (0 if fd in done else select.POLLIN) | (select.POLLOUT if queues[fd] else 0)
        poller.modify(fd, mask)
