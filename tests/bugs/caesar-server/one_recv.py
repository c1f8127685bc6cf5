"""Known bug (docs/labs.md §8): one recv() taken as the whole request.

Must fail: partial/split-request (the first recv holds only 'e', which is
answered ERR.) and partial/long-text (a 256 KiB request is cut at 1024 bytes).
"""
from _caesar import answer, run


def handle(conn):
    with conn:
        try:
            conn.sendall(answer(conn.recv(1024).split(b".")[0]))
        except OSError:
            pass


run(handle)
