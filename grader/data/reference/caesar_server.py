"""Reference Caesar-cipher server (lab 8 of the sockgrade lab catalogue).

Usage: python caesar_server.py HOST PORT

A request is  OP SHIFT TEXT .  with no spaces, for example  e03hello.
  OP     'e' encrypts (shift right), 'd' decrypts (shift left)
  SHIFT  two decimal digits, taken modulo 26 (so 26 changes nothing, 99 acts as 21)
  TEXT   any bytes except '.'; the '.' ends the request
Only the letters a-z are shifted; everything else passes unchanged.  The
reply is the result followed by '.', then the server closes the
connection.  A malformed request gets 'ERR.' and the server keeps serving.

TCP is a byte stream: one recv() may return part of a request, so the
server keeps reading until the '.' arrives.  It works on bytes, never
decoding the text, so any byte except '.' is fine.  Each client gets its
own thread.  Standard library only.
"""

import contextlib
import socket
import sys
import threading

TERMINATOR = b"."
ERROR = b"ERR."
MAX_REQUEST = 16 * 1024 * 1024  # refuse a request that never ends instead of eating memory
LOWER = b"abcdefghijklmnopqrstuvwxyz"


def shift_table(shift):
    """A bytes.translate() table moving a-z 'shift' places right (mod 26), other bytes unchanged."""
    shift %= 26
    table = bytearray(range(256))
    for index, letter in enumerate(LOWER):
        table[letter] = LOWER[(index + shift) % 26]
    return bytes(table)


def answer(request):
    """The reply to one request (without its '.'), as bytes: the result, or ERR."""
    op, digits, text = request[:1], request[1:3], request[3:]
    if op not in (b"e", b"d") or len(digits) != 2 or not digits.isdigit():
        return None
    shift = int(digits)
    if op == b"d":
        shift = -shift
    return text.translate(shift_table(shift))


def read_request(conn):
    """Bytes up to (not including) the '.', or None if the client closed first."""
    buffer = b""
    while TERMINATOR not in buffer:
        if len(buffer) > MAX_REQUEST:
            return b""  # malformed: far too long
        chunk = conn.recv(65536)
        if not chunk:  # the client closed before finishing its request
            return None
        buffer += chunk
    return buffer[: buffer.index(TERMINATOR)]


def serve_client(conn, address):
    """Answer one request, then close the connection."""
    with conn:
        try:
            request = read_request(conn)
            if request is None:
                return
            result = answer(request)
            conn.sendall(ERROR if result is None else result + TERMINATOR)
        except OSError as exc:  # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)


def main():
    if len(sys.argv) != 3:
        print("usage: caesar_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"caesar server listening on {host}:{port}", flush=True)
        while True:
            conn, address = server.accept()
            threading.Thread(target=serve_client, args=(conn, address), daemon=True).start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
