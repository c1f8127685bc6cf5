"""A correct echo server that needs 0.09 CPU seconds of work before it listens (as a heavy
import would), for grading with almost no CPU: under a 2% CPU quota that work and its start
take about 6.5 s, past the grader's 5 s startup deadline.  Such a server has been starved by
the machine, not stuck: it must be waited for, and then start.
"""
import socket
import sys
import time

work_until = time.process_time() + 0.09
while time.process_time() < work_until:
    pass
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen()
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
