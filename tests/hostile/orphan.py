"""Hostile: a "daemon" whose child outlives it.

The program forks a child that starts its own session (setsid), and exits
with status 0 at once; the child waits until its parent is gone, then
listens on the port and echoes forever.  The report says the server exited
before serving (deterministically: the child binds only after the parent
died).  Local runner: the orphan still carries the run's token and sits in
the program's pids cgroup, so stopping kills it; Docker: the main process
is the container's PID 1, and its exit ends every process in the container.
"""
import os
import socket
import sys
import time

parent = os.getpid()
if os.fork() == 0:
    os.setsid()
    while os.getppid() == parent:
        time.sleep(0.01)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((sys.argv[1], int(sys.argv[2])))
    server.listen(16)
    while True:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)
os._exit(0)
