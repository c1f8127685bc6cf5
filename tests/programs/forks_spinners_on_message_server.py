"""A server that listens and accepts, then on the first message forks 48 children that spin
(and never echoes).  At the reply deadline each child is runnable with little CPU of its
own, since 48 share the cores, yet together they have had plenty: the program had the CPU
and spent it on work of its own, so the echo fails; it is not an error for want of CPU.
"""
import os
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen()
conn, _ = server.accept()
conn.recv(65536)
for _ in range(48):
    if os.fork() == 0:
        while True:
            pass
conn.recv(65536)  # the parent waits for more, and never echoes
