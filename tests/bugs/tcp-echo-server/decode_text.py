"""Known bug (docs/labs.md §1): decoding bytes as text.

An iterative server that decodes every chunk as UTF-8 and re-encodes it:
the first byte sequence that is not valid UTF-8 raises UnicodeDecodeError
and the whole server dies.  It has no exception handling at all, so it also
dies on a client reset (a second bug: see decode_only.py for the first alone).
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            text = data.decode("utf-8")
            conn.sendall(text.encode("utf-8"))
