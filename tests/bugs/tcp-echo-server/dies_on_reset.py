"""Known bug (docs/labs.md §1): dies on a client reset.

An iterative server without exception handling: a client that resets its
connection makes recv() raise ConnectionResetError, which kills the server.
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)
