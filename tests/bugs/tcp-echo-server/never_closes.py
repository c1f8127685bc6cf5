"""Known bug (docs/labs.md §1): never closes.

Stops reading at EOF but never closes the connection (and keeps it
referenced, so it is not garbage-collected either): the client never sees
EOF after its half-close, sockets stay in CLOSE_WAIT, descriptors leak.
"""
from _threaded import run

kept = []


def handle(conn):
    kept.append(conn)
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


run(handle)
