"""Known bug (docs/labs.md §1): survives a reset while sending, dies on one while reading.

sendall() is wrapped (BrokenPipeError and ConnectionResetError are both
OSError), but recv() is not: a client that resets while the server waits
for its next message kills the iterative server.
Fails: robustness/client-reset.
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
            data = conn.recv(65536)  # the bug: a reset here is not caught
            if not data:
                break
            try:
                conn.sendall(data)
            except OSError as exc:
                print(f"client gone while sending: {exc}", file=sys.stderr)
                break
