"""Known bug (docs/labs.md §9, close): one recv() taken as the whole request.

The request is read with a single recv() and answered at once, before the
half-close; the connection is closed with the rest of the request unread.
Fails: framing/reply-after-half-close, resources/idle-cpu-client (its request
comes in two parts), and every probe whose request does not arrive in one
recv(): partial/one-byte-writes, framing/one-mib-frame, partial/large-payload,
partial/backpressure.
"""
from _common import serve


def handle(conn):
    with conn:
        request = conn.recv(65536)  # the bug: the request ends at the half-close
        conn.sendall(request)


serve(handle)
