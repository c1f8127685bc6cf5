"""Known bug (docs/labs.md §10): one upload at a time (no thread per client).

Otherwise correct; the third of three simultaneous uploads waits for the
first, which waits for the grader.
Must fail: concurrency/three-uploads.
"""
from _upload import handle, listen

server = listen()
while True:
    conn, _ = server.accept()
    handle(conn)
