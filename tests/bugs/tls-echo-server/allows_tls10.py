"""Known bug: lowers the minimum version and the security level "for old clients", so a client
that offers only TLS 1.0 is served.

Fails tls/old-versions-refused (informational) only.
"""
import socket
import ssl
import sys
import threading

host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.minimum_version = ssl.TLSVersion.TLSv1  # compatibility with old clients
context.set_ciphers("DEFAULT:@SECLEVEL=0")
context.load_cert_chain(cert, key)


def handle(conn):
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            while True:
                data = tls.recv(4096)
                if not data:
                    break
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
