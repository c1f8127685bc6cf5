"""Known bug (docs/labs.md §9, close): replies after the half-close, then never closes.

The reply is right, but the connection is kept open (the socket is stored,
never closed), so the client cannot tell the reply has ended.
Fails: every probe that waits for the end of a reply (all but startup).
"""
from _common import serve

KEPT = []


def handle(conn):
    request = b""
    while True:
        data = conn.recv(65536)
        if not data:
            break
        request += data
    conn.sendall(request)
    KEPT.append(conn)  # the bug: the close marks the end of the reply


serve(handle)
