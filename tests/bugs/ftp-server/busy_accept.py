"""Bug: the listening socket is non-blocking and accept() is retried in a loop.

The main thread spins at 100% CPU while nobody connects.  Fails
resources/idle-cpu and resources/idle-cpu-client.
"""
import socket
import sys
import threading

from _ftp import Session, serve

host, port = sys.argv[1], int(sys.argv[2])
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
server.setblocking(False)
while True:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        continue
    conn.setblocking(True)
    threading.Thread(target=serve, args=(Session, conn), daemon=True).start()
