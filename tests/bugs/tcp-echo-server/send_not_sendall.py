"""Known bug (docs/labs.md §1): send() instead of sendall().

The socket has a timeout (so it is non-blocking underneath, as in much
student code) and reads in large chunks; send() sends only what fits in the
socket's send buffer and the rest of the chunk is silently dropped under
backpressure.  (With a blocking socket Linux's send() happens to send all,
which is why the bug hides in casual testing.)  Fails partial/backpressure,
on every run; partial/large-payload reads through a window that holds the
whole echo, so it passes whatever the machine's load.
"""
from _threaded import run


def handle(conn):
    conn.settimeout(30)
    with conn:
        while True:
            data = conn.recv(1 << 22)  # large reads: up to 4 MiB at once
            if not data:
                break
            conn.send(data)


run(handle)
