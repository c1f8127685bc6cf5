"""Shared skeleton for the caesar-server known-bug programs: a correct server in pieces.

Each bug file replaces one piece (how the request is read, how it is
answered, how clients are accepted) and calls ``run(handle)``, so the bug is
the only difference from a correct server.
"""
import socket
import sys
import threading

LOWER = b"abcdefghijklmnopqrstuvwxyz"


def cipher(op, shift, text):
    """Correct cipher on bytes: a-z shifted mod 26, everything else unchanged."""
    shift = shift % 26 if op == b"e" else -shift % 26
    table = bytearray(range(256))
    for index, letter in enumerate(LOWER):
        table[letter] = LOWER[(index + shift) % 26]
    return text.translate(bytes(table))


def answer(request):
    """The reply (with its '.') to one request (without its '.'): the result, or ERR."""
    op, digits, text = request[:1], request[1:3], request[3:]
    if op not in (b"e", b"d") or len(digits) != 2 or not digits.isdigit():
        return b"ERR."
    return cipher(op, int(digits), text) + b"."


def read_request(conn):
    """Bytes before the '.', or None when the client closed first."""
    buffer = b""
    while b"." not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    return buffer[: buffer.index(b".")]


def handle(conn):
    """Correct handler: one request, one reply, close."""
    with conn:
        try:
            request = read_request(conn)
            if request is not None:
                conn.sendall(answer(request))
        except OSError:
            pass


def listen():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((sys.argv[1], int(sys.argv[2])))
    server.listen(128)
    return server


def run(handler=handle):
    """Accept forever, one thread per client."""
    server = listen()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()
