"""Known bug (docs/labs.md §1): survives a reset while reading, dies on one while sending.

The recv() is wrapped for ConnectionResetError, as students add after
their first crash, but sendall() is not: a client that resets after its
request (before the echo), or while a large echo is being sent, makes
sendall() raise and kills the iterative server.
Fails: robustness/reset-before-reply, robustness/reset-during-reply.
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
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                print("client reset the connection", file=sys.stderr)
                break
            if not data:
                break
            conn.sendall(data)  # the bug: a reset here is not caught
