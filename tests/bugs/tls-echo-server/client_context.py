"""Known bug: makes its context with ssl.create_default_context() and no purpose, which is a
client's context (Purpose.SERVER_AUTH): wrap_socket(server_side=True) raises in every
client's thread, which dies and drops the connection.

Fails tls/handshake; everything after it is skipped.
"""
import socket
import ssl
import sys
import threading

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context()
context.load_cert_chain(cert, key)


def handle(conn):
    with context.wrap_socket(conn, server_side=True) as tls:
        while True:
            data = tls.recv(4096)
            if not data:
                break
            tls.sendall(data)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
