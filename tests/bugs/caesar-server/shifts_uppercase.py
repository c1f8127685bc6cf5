"""Known bug (docs/labs.md §8): shifts every letter, not only a-z.

Decodes the text and shifts anything str.isalpha() accepts, keeping its
case: upper case changes, and so does 'é' (islower() is True for it).
Must fail: cipher/non-letters only (the other probes send lower case only).
"""
import _caesar
from _caesar import run


def cipher(op, shift, text):
    shift = shift if op == b"e" else -shift
    out = []
    for ch in text.decode("utf-8"):
        if ch.isalpha():
            base = ord("a") if ch.islower() else ord("A")
            ch = chr((ord(ch) - base + shift) % 26 + base)
        out.append(ch)
    return "".join(out).encode("utf-8")


_caesar.cipher = cipher
run()
