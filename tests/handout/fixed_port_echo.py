"""Written like the handout (docs/labs.md §1): a fixed port on ``localhost``, no SO_REUSEADDR.

A correct iterative echo server, as students copy it from the lab sheet:
the host and port are constants, the socket is bound without
``SO_REUSEADDR`` and it prints every connection.  Graded with ``--port
10000`` it must get the same verdicts first or tenth, locally or in Docker:
the grader may leave no TIME_WAIT on the port it then cannot bind again.
"""
import socket

HOST = "localhost"
PORT = 10000

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind((HOST, PORT))
    s.listen()
    while True:
        conn, addr = s.accept()
        with conn:
            print("Connected by", addr)
            while True:
                data = conn.recv(1024)
                if not data:
                    break
                conn.sendall(data)
