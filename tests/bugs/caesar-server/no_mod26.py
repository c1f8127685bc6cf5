"""Known bug (docs/labs.md §8): the shift is not taken mod 26; the letter wraps only once.

Shift 26 still works by luck (one wrap undoes it), shift 99 does not.
Must fail: shift/99 only.
"""
from _caesar import read_request, run


def shifted(op, shift, text):
    out = bytearray()
    for byte in text:
        if ord("a") <= byte <= ord("z"):
            n = byte - ord("a") + (shift if op == b"e" else -shift)
            if n >= 26:  # wraps once, as if shift were at most 25
                n -= 26
            elif n < 0:
                n += 26
            byte = (ord("a") + n) % 256
        out.append(byte)
    return bytes(out)


def handle(conn):
    with conn:
        try:
            request = read_request(conn)
            if request is None:
                return
            op, digits = request[:1], request[1:3]
            if op not in (b"e", b"d") or not digits.isdigit() or len(digits) != 2:
                conn.sendall(b"ERR.")
            else:
                conn.sendall(shifted(op, int(digits), request[3:]) + b".")
        except OSError:
            pass


run(handle)
