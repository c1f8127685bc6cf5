"""Known bug: loads its own certificate (server.crt/server.key next to it, made earlier by the
student) instead of the CERT and KEY given on the command line.

A client that trusts only the course's CA refuses it: fails tls/handshake; every probe that
needs a handshake is skipped.
"""
import socket
import ssl
import sys
import threading
from pathlib import Path

HERE = Path(__file__).parent


def handle(conn, context):
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            while True:
                data = tls.recv(4096)
                if not data:
                    break
                tls.sendall(data)
    except OSError:
        pass


host, port = sys.argv[1], int(sys.argv[2])
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(HERE / "server.crt", HERE / "server.key")  # ignores argv[3], argv[4]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn, context), daemon=True).start()
