"""Hostile: echoes correctly from a thread while its main thread spins forever.

It costs one core (Docker: capped by the container's CPU limit); the echo
probes pass, and stopping kills it.
"""
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
while True:
    pass
