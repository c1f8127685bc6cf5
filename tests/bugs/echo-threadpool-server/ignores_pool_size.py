"""Known bug (docs/labs.md §4): the pool size on the command line is ignored (two workers).

A correct ThreadPoolExecutor, but with max_workers=2 hard-coded instead of
the N given as the extra argument: only 2 clients are served at once where
the pool should serve N.  Fails process/bounded-threads only.
"""
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


pool = ThreadPoolExecutor(max_workers=2)  # BUG: should be int(sys.argv[3])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    pool.submit(handle, conn)
