"""Known bug (docs/labs.md §2): one lock shared by all clients, held while sending.

A thread per client, but every sendall() runs under one global lock "to be
safe".  A client that sends a lot and never reads blocks its thread inside
sendall() while holding the lock, so every other client's echo waits behind
it: fails concurrency/non-reading-client only.
"""
import socket
import sys
import threading

send_lock = threading.Lock()


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                with send_lock:  # BUG: held while blocked on a slow reader
                    conn.sendall(data)
        except OSError:
            pass


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
