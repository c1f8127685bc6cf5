"""Known bug (docs/labs.md §16): no error handling on the socket.

A select() loop over the socket and stdin that handles recv() == b'' (the
server closed) but not ConnectionResetError: when the server resets, the
client dies with a traceback.  Fails shutdown/server-reset only.
"""
import os
import select
import socket
import sys

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.sendall((username + "\n").encode())
inputs = [sock, sys.stdin]
typed = b""
while True:
    ready, _, _ = select.select(inputs, [], [])
    if sock in ready:
        data = sock.recv(4096)
        if not data:
            print("Server closed the connection")
            break
        sys.stdout.write(data.decode())
    if sys.stdin in ready:
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            inputs.remove(sys.stdin)
            sock.shutdown(socket.SHUT_WR)
            continue
        typed += chunk
        while b"\n" in typed:
            line, typed = typed.split(b"\n", 1)
            sock.sendall(line + b"\n")
sock.close()
