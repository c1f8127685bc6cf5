"""Known bug (docs/labs.md §2): the handler sends to a global socket variable.

The handler reads from its own socket (its parameter, ``client``) but
echoes with ``conn.sendall``: the module-level ``conn`` that the accept loop
rebinds to the newest connection.  With one client at a time that is
correct; once a second client connects, every echo goes to the newest
client.  Fails concurrency/interleaved (A's echo reaches B),
concurrency/many-clients and concurrency/non-reading-client (the slow
reader's echo floods the other client).
"""
import socket
import sys
import threading


def handle(client):
    with client:
        try:
            while data := client.recv(65536):
                conn.sendall(data)  # BUG: the global, not this client's socket
        except OSError:
            pass


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
