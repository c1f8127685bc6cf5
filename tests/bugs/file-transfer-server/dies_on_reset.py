"""Known bug (docs/labs.md §1, in a §10 server): dies on a client reset.

An iterative server that handles a client's orderly close but not
ConnectionResetError: a client that resets mid-upload kills the server.
Being iterative, it also serves one upload at a time.
Must fail: robustness/client-reset and concurrency/three-uploads.
"""
import _upload
from _upload import listen

server = listen()
while True:
    conn, _ = server.accept()
    with conn:
        try:
            _upload.serve(conn)
        except _upload.CutShort:
            pass
