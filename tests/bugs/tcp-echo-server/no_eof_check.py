"""Known bug (docs/labs.md §1): no EOF check.

An iterative server whose loop never tests recv() == b'': once the first
client closes it spins at 100% CPU echoing nothing, never closes, and never
accepts the next client.
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    while True:
        data = conn.recv(1024)
        conn.sendall(data)
