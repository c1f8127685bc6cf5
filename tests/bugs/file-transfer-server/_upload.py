"""Shared skeleton for the file-transfer-server known-bug programs: a correct server in pieces.

Each bug file replaces one piece (reading the header, checking the name,
storing the content, replying, accepting clients) and calls ``run()``, so
the bug is the only difference from a correct server.  Started as
``python BUG.py HOST PORT FOLDER``; everything is written inside FOLDER or,
for the traversal bugs, wherever the grader's names point (always inside the
grader's own temporary tree).
"""
import os
import socket
import sys
import tempfile
import threading

FOLDER = sys.argv[3]


class CutShort(Exception):
    """The client closed before sending everything."""


class Refused(Exception):
    """The upload is refused (the message is the reason)."""


def recv_exactly(conn, count):
    parts = []
    while count:
        chunk = conn.recv(min(count, 65536))
        if not chunk:
            raise CutShort()
        parts.append(chunk)
        count -= len(chunk)
    return b"".join(parts)


def read_header(conn):
    """(raw name bytes, size) of the next upload."""
    name_length = int.from_bytes(recv_exactly(conn, 4), "big")
    raw = recv_exactly(conn, name_length)
    return raw, int.from_bytes(recv_exactly(conn, 8), "big")


def check_name(raw):
    name = raw.decode("utf-8")
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise Refused("the name must be a plain file name")
    return os.path.join(FOLDER, name)


def receive(conn, size, path):
    """Receive into a temporary file, rename to 'path' only when complete."""
    fd, temporary = tempfile.mkstemp(dir=FOLDER, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            remaining = size
            while remaining:
                chunk = conn.recv(min(remaining, 65536))
                if not chunk:
                    raise CutShort()
                out.write(chunk)
                remaining -= len(chunk)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def serve(conn):
    """One upload on 'conn' (no closing, no error handling): reply OK or ERR."""
    raw, size = read_header(conn)
    try:
        path = check_name(raw)
    except Refused as why:
        conn.sendall(f"ERR {why}\n".encode())
        return
    receive(conn, size, path)
    conn.sendall(b"OK\n")


def handle(conn):
    """Correct handler: serve one upload, survive errors, close."""
    with conn:
        try:
            serve(conn)
        except (OSError, CutShort, UnicodeDecodeError, ValueError):
            pass


def listen():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((sys.argv[1], int(sys.argv[2])))
    server.listen(128)
    return server


def run(handler=None):
    """Accept forever, one thread per client."""
    server = listen()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handler or handle, args=(conn,), daemon=True).start()
