"""Known bug (docs/labs.md §9, close): replies before the client's half-close.

It echoes each recv() as it arrives (a streaming echo), then closes at EOF:
the reply starts before the request has ended.
Fails: framing/reply-after-half-close.
"""
from _common import serve


def handle(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)  # the bug: the request is not complete yet


serve(handle)
