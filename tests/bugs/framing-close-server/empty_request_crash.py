"""Known bug (docs/labs.md §9, close): an empty request crashes the server.

A single-threaded server (one client at a time) logs the first word of each
request; an empty request has none, and the IndexError ends the server.
Everything else is right (network errors are caught).
Fails: framing/zero-length (the next client is refused),
concurrency/second-client (one client at a time; informational).
"""
import sys

from _common import serve


def handle(conn):
    with conn:
        request = bytearray()
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                request += data
        except OSError:
            return
        print("request starting", bytes(request.split()[0][:20]), file=sys.stderr)  # the bug
        try:
            conn.sendall(request)
        except OSError:
            pass


serve(handle, threaded=False)
