"""Bug: every accepted connection is kept in a list "for later" and never closed.

Sessions end, but their sockets stay open.  Fails resources/no-fd-leak.
"""
import socket
import sys
import threading

from _ftp import Session

clients = []


def handle(conn):
    session = Session(conn)
    try:
        session.run()
    except OSError:
        pass


host, port = sys.argv[1], int(sys.argv[2])
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
while True:
    conn, _ = server.accept()
    clients.append(conn)
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
