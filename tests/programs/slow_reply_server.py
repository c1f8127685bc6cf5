"""A correct echo server that works 0.05 CPU seconds on every message before it echoes it
(as heavy processing would).  With the CPU that is nothing; graded with almost no CPU (a 2%
quota) each echo takes about 2.5 s, past the grader's 2 s reply deadline.  Such a server
has been starved by the machine, not stuck: its echo must be waited for, and then pass.
"""
import socket
import sys
import time

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen()
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            work_until = time.process_time() + 0.05
            while time.process_time() < work_until:
                pass
            conn.sendall(data)
