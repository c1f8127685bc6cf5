"""Known bug (docs/labs.md §16): one read of stdin taken as one line.

select() over the socket and stdin, then os.read(stdin, 1024) stripped and
sent with a newline: a line longer than 1024 bytes, or typed in pieces,
reaches the room as several lines.  Fails send/stdin-lines only.
"""
import os
import select
import socket
import sys

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.sendall((username + "\n").encode())
inputs = [sock, sys.stdin]
while True:
    ready, _, _ = select.select(inputs, [], [])
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
        chunk = os.read(sys.stdin.fileno(), 1024)
        if not chunk:
            inputs.remove(sys.stdin)
            sock.shutdown(socket.SHUT_WR)
            continue
        sock.sendall(chunk.strip() + b"\n")
sock.close()
