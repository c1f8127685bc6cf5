"""Written like the handout (docs/labs.md §1): bound to ``127.0.0.1:65432``, hard-coded.

The classic first echo server: host and port are constants, the socket is
bound to the loopback address only, and it serves one client after another.
It ignores its command line, so it is graded with ``--port 65432``; it must
be reached, and get the same verdicts, locally and under ``--runner docker``
(where it is bound to the container's own loopback).
"""
import socket

HOST = "127.0.0.1"  # Standard loopback interface address (localhost)
PORT = 65432  # Port to listen on (non-privileged ports are > 1023)

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, PORT))
    s.listen()
    while True:
        conn, addr = s.accept()
        with conn:
            print(f"Connected by {addr}")
            while True:
                data = conn.recv(1024)
                if not data:
                    break
                conn.sendall(data)
