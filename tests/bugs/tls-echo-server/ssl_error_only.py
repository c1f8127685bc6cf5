"""Known bug: catches ssl.SSLError around the handshake, but a reset mid-handshake raises
ConnectionResetError (an OSError, not an SSLError), which stops the server.

Fails tls/half-hello-reset only: plain clients, garbage and a rejected certificate are SSLErrors.
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
    except ssl.SSLError as e:
        print("handshake failed:", e)
        conn.close()
        continue
    with tls:
        try:
            while True:
                data = tls.recv(4096)
                if not data:
                    break
                tls.sendall(data)
        except OSError as e:
            print("client error:", e)
