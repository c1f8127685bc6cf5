"""Known bug (docs/labs.md §3): busy loop while idle.

Polls a non-blocking listening socket in a tight loop instead of blocking
in accept(): 100% CPU with no client at all.
"""
import socket
import sys
import threading



def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
server.setblocking(False)
while True:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        continue
    conn.setblocking(True)
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
