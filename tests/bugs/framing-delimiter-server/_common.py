"""Shared skeleton for this folder's known-bug servers: the accept loop and recv_exactly.

Each bug file defines ``handle(conn)`` and calls ``serve(handle)``
(``threaded=False`` serves one client at a time, in the accept loop's
thread, so an uncaught exception ends the whole server).
"""
import socket
import sys
import threading


def recv_exactly(conn, n):
    """Read exactly n bytes; None on EOF before all n arrived (correct reading)."""
    buffer = bytearray()
    while len(buffer) < n:
        chunk = conn.recv(min(n - len(buffer), 65536))
        if not chunk:
            return None
        buffer += chunk
    return bytes(buffer)


def serve(handle, threaded=True):
    host, port = sys.argv[1], int(sys.argv[2])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(128)
    while True:
        conn, _ = server.accept()
        if threaded:
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
        else:
            handle(conn)
