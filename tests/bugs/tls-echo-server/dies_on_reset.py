"""Known bug: an iterative server that survives failed handshakes but not a client that resets
before its reply: the error from sendall() (BrokenPipeError, ConnectionResetError or
ssl.SSLEOFError) goes uncaught and stops the server.

Fails robustness/reset-before-reply. (A reset while it waits in recv() reads as b'' through
Python's ssl module, so robustness/client-reset passes.)
"""
import socket
import ssl
import sys

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
while True:
    conn, addr = server.accept()
    try:
        tls = context.wrap_socket(conn, server_side=True)
    except OSError:
        conn.close()
        continue
    with tls:
        while True:
            data = tls.recv(4096)
            if not data:
                break
            tls.sendall(data)
