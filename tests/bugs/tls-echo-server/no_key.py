"""Known bug: passes only the certificate to load_cert_chain(), not the key.

The certificate file holds no private key, so the server dies at start
("[SSL] PEM lib"): fails startup/listens; everything else is skipped.
"""
import socket
import ssl
import sys

host, port, cert = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
while True:
    conn, addr = server.accept()
    with context.wrap_socket(conn, server_side=True) as tls:
        while data := tls.recv(4096):
            tls.sendall(data)
