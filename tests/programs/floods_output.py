"""A correct echo server that writes 64 MiB to stdout first: captured output is capped."""
import socket
import sys
import threading

chunk = b"x" * 65536 + b"\n"
for _ in range(1024):
    sys.stdout.buffer.write(chunk)
sys.stdout.flush()


def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
