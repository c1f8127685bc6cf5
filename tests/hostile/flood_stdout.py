"""Hostile: writes 1 GiB to stdout while it echoes correctly.

Both runners read the output to the end, so the program never blocks on
its own writes, and keep only the capped head and tail, so it costs the
grader no memory or disk (Docker: logging is off, the engine buffers
nothing).  The echo probes pass; the report notes the truncated output.
"""
import os
import socket
import sys
import threading


def serve(server):
    while True:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
threading.Thread(target=serve, args=(server,), daemon=True).start()
chunk = b"spam " * (2**20 // 5) + b"\n"
for _ in range(1024):  # about 1 GiB
    os.write(1, chunk)
threading.Event().wait()
