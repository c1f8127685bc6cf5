"""Known bug (docs/labs.md §1, in a §11 server): dies on a client reset.

An iterative server with no error handling: a client that resets (while
the server reads its request, or before or during the response) raises
ConnectionResetError or BrokenPipeError, and the server exits.  Being
iterative, it also serves nobody while a client sits on half a request.
Must fail: robustness/client-reset, robustness/reset-before-reply,
robustness/reset-during-reply, concurrency/half-request (informational).
"""
import socket

import _student


def serve(conn):
    buf = bytearray()
    with conn:
        while True:
            head = _student.read_request(conn, buf)
            if head is None or not _student.handle(conn, head):
                break


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((_student.HOST, _student.PORT))
server.listen(50)
while True:
    conn, addr = server.accept()
    serve(conn)
