"""Reference file-transfer (upload) client (lab 17 of the sockgrade lab catalogue).

Usage: python file_transfer_client.py HOST PORT FILE

Uploads FILE in the lab 10 framing: a 4-byte big-endian length of the name's
UTF-8 bytes, the file's base name, an 8-byte big-endian size, then the
content, read and sent in chunks with sendall() (any size, never all in
memory).  Prints the server's reply line, closes cleanly and exits 0 on
``OK``, 1 on ``ERR reason``.  Errors (a missing FILE, connection refused, a
server that closes before replying) are one line on stderr and exit status 1.
Standard library only.
"""

import os
import socket
import struct
import sys

CHUNK = 64 * 1024  # bytes read from the file and sent per sendall()


def read_line(sock):
    """Read one reply line (up to and including the newline); raises EOFError if cut short."""
    line = bytearray()
    while not line.endswith(b"\n"):
        chunk = sock.recv(1024)
        if not chunk:
            raise EOFError("the server closed the connection without a complete reply")
        line += chunk
    return bytes(line)


def upload(host, port, path):
    """Upload the file at ``path``; return the reply line. Raises OSError or EOFError."""
    with open(path, "rb") as handle:  # opened before connecting: a missing FILE sends nothing
        size = os.fstat(handle.fileno()).st_size
        name = os.path.basename(path).encode("utf-8")
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(struct.pack(">I", len(name)) + name + struct.pack(">Q", size))
            while chunk := handle.read(CHUNK):
                sock.sendall(chunk)
            reply = read_line(sock)
            sock.shutdown(socket.SHUT_WR)  # done sending; the server closes after its reply
            while sock.recv(1024):  # read to EOF so nothing is left unread (no RST)
                pass
    return reply.decode("utf-8", "replace").rstrip("\r\n")


def main():
    if len(sys.argv) != 4:
        print("usage: file_transfer_client.py HOST PORT FILE", file=sys.stderr)
        sys.exit(2)
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        reply = upload(host, port, path)
    except (OSError, EOFError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(reply)
    sys.exit(0 if reply == "OK" else 1)


if __name__ == "__main__":
    main()
