"""Hostile: a fork bomb.  It listens and echoes in a thread, then every process forks forever.

Local runner (as root, where RLIMIT_NPROC does not hold): the program's pids
cgroup caps its tasks at the assignment's ``processes``; Docker: the
container's ``--pids-limit``.  fork() then fails with EAGAIN, the grading ends
with a report, and stopping leaves no process behind.
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
while True:
    try:
        os.fork()
    except OSError:
        pass
