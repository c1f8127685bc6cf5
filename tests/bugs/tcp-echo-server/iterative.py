"""Known limitation (lab 1 allows it; lab 2 does not): an iterative server.

Correct, but serves one client at a time: a second client waits while a
first one is connected and silent.  Fails only the informational
concurrency probe of tcp-echo-server.
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
