"""Known bug (docs/labs.md §16): one recv() taken as one line.

A reader thread prints each recv(1024) with print(), which adds a newline:
a line that arrives in several segments is printed in pieces, and so is the
line that straddles the 1024-byte boundary when many lines arrive together.
Fails print/split-line and print/coalesced.
"""
import os
import socket
import sys
import threading

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.sendall((username + "\n").encode())


def receive():
    while True:
        try:
            data = sock.recv(1024)
        except OSError:
            data = b""
        if not data:
            print("Disconnected from server")
            os._exit(0)
        print(data.decode().rstrip("\n"))


threading.Thread(target=receive, daemon=True).start()
while True:
    try:
        line = input()
    except EOFError:
        break
    sock.sendall((line + "\n").encode())
sock.shutdown(socket.SHUT_WR)
threading.Event().wait(10)  # the reader exits when the server closes
