"""Known bug (docs/labs.md §1): one recv per connection.

Takes a single recv() as the whole conversation: echoes it and closes.  Fails
every probe that needs more than one recv's worth: many messages, bytes
arriving one at a time, a large payload, an idle client coming back.
"""
from _threaded import run


def handle(conn):
    with conn:
        conn.sendall(conn.recv(1024))


run(handle)
