"""Known bug (docs/labs.md §3): blocking sockets and sendall() inside the poll() loop.

Each POLLIN is answered at once with a blocking sendall().  A client that
sends a lot and never reads makes sendall() block forever once its buffers
are full, and the one thread stops serving everybody: fails
concurrency/non-reading-client.
"""
import select
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
poller = select.poll()
poller.register(server, select.POLLIN)
conns = {}
while True:
    for fd, _event in poller.poll():
        if fd == server.fileno():
            conn, _ = server.accept()
            conns[conn.fileno()] = conn
            poller.register(conn, select.POLLIN)
            continue
        conn = conns[fd]
        try:
            data = conn.recv(65536)
            if data:
                conn.sendall(data)  # BUG: blocks the whole loop on a slow reader
                continue
        except OSError:
            pass
        poller.unregister(fd)
        del conns[fd]
        conn.close()
