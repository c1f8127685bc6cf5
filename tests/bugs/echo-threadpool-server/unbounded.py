"""Known bug (docs/labs.md §4): the "pool" is a thread per client (the size N is ignored).

Every accepted connection gets a new thread, so 100 connected clients mean
101 threads: fails process/bounded-threads only (the echo and concurrency
are fine).
"""
import socket
import sys
import threading


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()  # BUG: unbounded
