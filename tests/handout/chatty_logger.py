"""Written like the handout (docs/labs.md §1): a correct echo server that logs every chunk.

It reads 32 bytes at a time and logs each chunk at INFO level on stderr, as
students do while debugging: over 64 MiB of log lines during the 16 MiB
probes.  The grader must keep reading its output, so the program never
blocks on a full pipe, and every probe passes.
"""
import logging
import socket
import sys
import threading

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("echo")


def handle(conn, addr):
    with conn:
        log.info("client %s connected", addr)
        while True:
            data = conn.recv(32)
            if not data:
                break
            log.info("received %d bytes from %s: %r", len(data), addr, data)
            conn.sendall(data)
        log.info("client %s left", addr)


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn, addr), daemon=True).start()
