"""Known bug (docs/labs.md §1, in a §8 server): dies on a client reset.

An iterative server without exception handling: a client that resets
mid-request makes recv() raise ConnectionResetError, which kills the server.
Must fail: robustness/client-reset.
"""
from _caesar import answer, listen, read_request

server = listen()
while True:
    conn, _ = server.accept()
    with conn:
        request = read_request(conn)
        if request is not None:
            conn.sendall(answer(request))
