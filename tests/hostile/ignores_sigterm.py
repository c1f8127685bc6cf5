"""Hostile: ignores SIGTERM, SIGINT, SIGHUP and SIGQUIT, and so does the child it forks.

It echoes correctly.  Both runners stop programs with SIGKILL (Docker:
the container is killed), which cannot be ignored: nothing is left behind.
"""
import os
import signal
import socket
import sys

for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(signum, signal.SIG_IGN)

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
if os.fork() == 0:  # a second process serving the same socket, just as stubborn
    pass
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
