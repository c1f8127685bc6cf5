"""Known bug: one recv() per connection, then close (threaded).

Fails echo/many-messages, partial/one-byte-writes (each byte is its own TLS record) and
partial/large-payload.
"""
import socket
import ssl
import sys
import threading

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


def handle(conn):
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            data = tls.recv(65536)
            tls.sendall(data)
    except OSError:
        conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
