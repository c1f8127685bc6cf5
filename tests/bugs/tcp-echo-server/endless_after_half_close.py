"""Known bug: answers the client's half-close with an endless stream.

Treats recv() == b'' as "nothing yet" and keeps sending filler: the
grader's capped read must end the probe, not exhaust its memory.
"""
from _threaded import run


def handle(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                while True:
                    conn.sendall(b"?" * 65536)
            conn.sendall(data)


run(handle)
