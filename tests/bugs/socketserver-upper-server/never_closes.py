"""Known bug: a hand-rolled server (no socketserver) that never closes a connection.

It replies and moves on to the next client, leaving the socket open: the
client never sees EOF (shutdown/closes-after-reply fails) and file
descriptors pile up (resources/no-fd-leak fails).
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(64)
kept = []
while True:
    conn, _ = server.accept()
    kept.append(conn)  # never closed
    buffer = b""
    try:
        while b"\n" not in buffer:
            data = conn.recv(1024)
            if not data:
                break
            buffer += data
        if buffer:
            conn.sendall(buffer.strip().upper() + b"\n")
    except OSError:
        pass
