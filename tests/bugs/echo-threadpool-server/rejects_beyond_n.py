"""Known bug (docs/labs.md §4): clients beyond the pool size are refused instead of waiting.

N worker slots guarded by a semaphore, but the accept loop tries the
semaphore without blocking and closes the connection when all N workers are
busy.  Clients beyond N fail instead of waiting: fails
process/bounded-threads (waiting clients are closed) and
concurrency/many-clients (100 clients at once).
"""
import socket
import sys
import threading

workers = threading.BoundedSemaphore(int(sys.argv[3]))


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
    workers.release()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    if not workers.acquire(blocking=False):  # BUG: should wait for a free worker
        conn.close()
        continue
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
