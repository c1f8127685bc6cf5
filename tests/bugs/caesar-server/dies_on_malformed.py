"""Known bug (docs/labs.md §8): a malformed request kills the server.

An iterative server that catches socket errors but not ValueError: int()
of a one-digit shift such as b'3h' raises, and the whole server exits.
Must fail: errors/malformed (no ERR., the server exited).
"""
from _caesar import cipher, listen, read_request

server = listen()
while True:
    conn, _ = server.accept()
    with conn:
        try:
            request = read_request(conn)
            if request is None:
                continue
            op, shift = request[:1], int(request[1:3])  # ValueError on b'3h', b'he', b''
            if op in (b"e", b"d"):
                conn.sendall(cipher(op, shift, request[3:]) + b".")
            else:
                conn.sendall(b"ERR.")
        except OSError:
            pass
