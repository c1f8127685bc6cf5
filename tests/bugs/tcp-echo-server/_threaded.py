"""Shared skeleton for the threaded known-bug servers: accept loop + thread per client.

Each bug file defines ``handle(conn)`` and calls ``run(handle)``.
"""
import socket
import sys
import threading


def run(handle, reuse=True, backlog=128):
    host, port = sys.argv[1], int(sys.argv[2])
    server = socket.socket()
    if reuse:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(backlog)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
