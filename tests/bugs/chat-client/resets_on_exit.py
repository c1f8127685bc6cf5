"""Known bug (docs/labs.md §16): SO_LINGER 0 "so the port is freed at once".

A textbook trick against TIME_WAIT: with linger on and a zero timeout, every
close() is an abortive close, so the server sees a reset instead of FIN.
Otherwise right (select() over the socket and stdin).  Fails
shutdown/stdin-eof only.
"""
import os
import select
import socket
import struct
import sys

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
sock.sendall((username + "\n").encode())
typed = b""
while True:
    ready, _, _ = select.select([sock, sys.stdin], [], [])
    if sock in ready:
        try:
            data = sock.recv(4096)
        except OSError as e:
            print("Connection lost:", e)
            break
        if not data:
            print("Server closed the connection")
            break
        sys.stdout.write(data.decode())
    if sys.stdin in ready:
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            break
        typed += chunk
        while b"\n" in typed:
            line, typed = typed.split(b"\n", 1)
            sock.sendall(line + b"\n")
sock.close()
