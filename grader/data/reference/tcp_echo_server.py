"""Reference TCP echo server (lab 1 of the sockgrade lab catalogue).

Usage: python tcp_echo_server.py HOST PORT

Every byte a client sends comes back to it, in order, until the client
ends its side of the connection; then the server finishes sending and
closes.  Each client is served by its own thread, so a slow or silent
client never holds up the others.  Standard library only.
"""

import socket
import sys
import threading


def serve_client(conn, address):
    """Echo everything from one client until it closes its side (recv returns b'')."""
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:  # b'' means the client half-closed: we are done
                    break
                conn.sendall(data)  # send() may send only part; sendall() loops
        except OSError as exc:  # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)
    # leaving the 'with' block closes the socket: the client sees EOF (FIN)


def main():
    if len(sys.argv) != 3:
        print("usage: tcp_echo_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        # Without SO_REUSEADDR a restarted server cannot bind the port while
        # old connections linger in TIME_WAIT (up to a minute).
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"echo server listening on {host}:{port}", flush=True)
        while True:
            conn, address = server.accept()
            worker = threading.Thread(target=serve_client, args=(conn, address), daemon=True)
            worker.start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: leave quietly, without a traceback
        print("server stopped", file=sys.stderr)
