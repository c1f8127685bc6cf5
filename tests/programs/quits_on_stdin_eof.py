"""An echo server that exits when its stdin reaches EOF (some handouts do this):
the launcher keeps stdin open, so it keeps serving."""
import socket
import sys
import threading


def watch_stdin():
    sys.stdin.read()
    print("stdin closed: quitting", flush=True)
    import os
    os._exit(0)


threading.Thread(target=watch_stdin, daemon=True).start()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
