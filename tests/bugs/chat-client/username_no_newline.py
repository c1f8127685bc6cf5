"""Known bug (docs/labs.md §16): sends the username without its newline.

`sock.send(username.encode())`: the server's readline() never sees the end
of the username, so the client never joins.  Everything else is right.
Fails join/username; every other probe depends on it and is skipped.
"""
import os
import socket
import sys
import threading

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.sendall(username.encode())


def receive():
    while True:
        try:
            data = sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            print("Disconnected from server")
            os._exit(0)
        sys.stdout.write(data.decode())


threading.Thread(target=receive, daemon=True).start()
for line in sys.stdin:
    sock.sendall(line.encode())
sock.shutdown(socket.SHUT_WR)
threading.Event().wait(10)
