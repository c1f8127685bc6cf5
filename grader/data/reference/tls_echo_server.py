"""Reference TLS echo server (docs/labs.md §12): lab 1's echo, inside TLS.

Usage: python tls_echo_server.py HOST PORT CERT KEY

The certificate and key come from the command line (PEM files).  Every
accepted connection gets its own thread, which does the TLS handshake and
then echoes every byte back until the client's close_notify (or its FIN);
it then answers with its own close_notify and closes.  A client that does
not speak TLS, rejects the certificate, or resets costs only its own
connection: the listening socket stays plain TCP, so nothing a client does
can raise inside the accept loop.  TLS 1.2 is the oldest version accepted.
"""

import socket
import ssl
import sys
import threading

#: Seconds a client may take to finish its handshake before it is dropped.
HANDSHAKE_TIMEOUT = 10.0


def serve(conn, context):
    """Handshake on the accepted socket, then echo until the client is done."""
    with conn:
        conn.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # not TLS, a rejected certificate, a reset or a stall: drop this client
        tls.settimeout(None)  # wrap_socket took over conn
        with tls:
            try:
                while True:
                    data = tls.recv(65536)
                    if not data:  # close_notify, or a FIN without one
                        break
                    tls.sendall(data)
                tls.unwrap()  # our own close_notify, then close
            except (ssl.SSLError, OSError):
                pass  # the client reset or broke the protocol: drop it


def main():
    host, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # a server's context
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(64)
        print(f"listening on {host}:{port} (TLS)", flush=True)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn, context), daemon=True).start()


if __name__ == "__main__":
    main()
