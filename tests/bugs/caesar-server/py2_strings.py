"""Known bug (docs/labs.md §8): Python 2 string code, with only the print statements ported.

It builds the request in a str ("" + bytes raises TypeError under Python 3),
so every handler thread dies before replying; the server stays up.
Must fail: cipher/encrypt (the connection closes with no reply), so every
probe that depends on it is skipped.
"""
import string

from _caesar import run


def handle(conn):
    request = ""
    while not request.endswith("."):
        request += conn.recv(1024)  # TypeError: can only concatenate str (not "bytes") to str
    op, shift, text = request[0], int(request[1:3]) % 26, request[3:-1]
    if op == "d":
        shift = -shift % 26
    table = string.maketrans(string.lowercase, string.lowercase[shift:] + string.lowercase[:shift])
    conn.send(text.translate(table) + ".")
    conn.close()


run(handle)
