"""Known bug: a hand-rolled server (no socketserver) that dies on a client reset.

socketserver catches a handler's exceptions and keeps serving; this loop
does not catch ConnectionResetError, so the client that resets mid-request
kills the server: robustness/client-reset fails, and only it (the runner
restarts the server for the probes after it).
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(64)
while True:
    conn, _ = server.accept()
    with conn:
        buffer = b""
        while b"\n" not in buffer:
            data = conn.recv(1024)
            if not data:
                break
            buffer += data
        if buffer:
            conn.sendall(buffer.strip().upper() + b"\n")
