"""A correct echo server that first writes 1 GiB to stdout: the grader drains it all,
keeps only a capped head and tail, and its own memory stays bounded."""
import os
import socket
import sys
import threading

chunk = b"y" * (1 << 20)
for _ in range(1024):
    view = memoryview(chunk)
    while view:
        view = view[os.write(1, view):]


def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
