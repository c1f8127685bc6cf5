"""Known bug: wraps the listening socket (the ssl module's documentation example), so accept()
runs every handshake, and nothing catches the ssl.SSLError a bad client causes there.

The first client whose handshake fails (plain HTTP, garbage, a reset mid-ClientHello, a
client that rejects the certificate, a TLS 1.0 client) stops the whole server. The echo loop
itself catches OSError, so a reset after the handshake is survived.
"""
import socket
import ssl
import sys

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)

with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as sock:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(5)
    with context.wrap_socket(sock, server_side=True) as ssock:
        while True:
            conn, addr = ssock.accept()
            with conn:
                try:
                    while True:
                        data = conn.recv(4096)
                        if not data:
                            break
                        conn.sendall(data)
                except OSError:
                    print("client went away", addr)
