"""Known bug (docs/labs.md §1): decoding bytes as text, and nothing else wrong.

A threaded server that handles resets properly but decodes every chunk as
UTF-8 and re-encodes it: bytes that are not valid UTF-8 raise
UnicodeDecodeError in that client's thread, which dies and drops the
connection; every other client is served.  Only the probes about byte
values may fail: every other probe sends printable ASCII.
Fails: echo/binary.
"""
import sys

from _threaded import run


def handle(conn):
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            text = data.decode("utf-8")  # the bug: an echo server moves bytes, not text
            try:
                conn.sendall(text.encode("utf-8"))
            except OSError as exc:
                print(f"client gone: {exc}", file=sys.stderr)
                return


run(handle)
