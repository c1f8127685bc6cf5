"""Reference file-transfer (upload) server (lab 10 of the sockgrade lab catalogue).

Usage: python file_transfer_server.py HOST PORT FOLDER

An upload is, in this order:
  name length   4 bytes, big-endian unsigned
  name          that many bytes, UTF-8
  size          8 bytes, big-endian unsigned
  content       that many bytes
The server stores the content as FOLDER/name and replies 'OK\\n', or
'ERR <reason>\\n', then closes the connection.

Three lessons live here:
- TCP is a byte stream: recv(4) may return 1, 2 or 3 bytes, so every field
  is read with recv_exactly(), which loops until it has them all.
- A name from the network is untrusted: only a plain file name is accepted
  (no '/', no '\\', not '', '.' or '..'), so nothing is written outside FOLDER.
- An upload is received into a temporary file and renamed (os.replace, atomic
  on one file system) only when all bytes are in, so an upload cut short never
  leaves a file that looks complete under the final name.
Each client gets its own thread, so uploads run at once.  Standard library only.
"""

import contextlib
import os
import socket
import sys
import tempfile
import threading

MAX_NAME = 4096                 # bytes; a longer name is refused
MAX_SIZE = 1024 * 1024 * 1024   # bytes; a larger upload is refused
CHUNK = 64 * 1024


class UploadCutShort(Exception):
    """The client closed its side before sending everything it announced."""


class Refused(Exception):
    """The upload is refused; the message is the reason sent back after 'ERR'."""


def recv_exactly(conn, count):
    """Exactly 'count' bytes from 'conn'; UploadCutShort if the client closes first."""
    parts = []
    while count:
        chunk = conn.recv(min(count, CHUNK))
        if not chunk:  # b'' means the client closed its side
            raise UploadCutShort(f"{count} bytes missing")
        parts.append(chunk)
        count -= len(chunk)
    return b"".join(parts)


def check_name(raw):
    """The file name as text, if it is a plain name inside the folder; else Refused."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("the name is not UTF-8") from None
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise Refused("the name must be a plain file name (no path)")
    return name


def receive_content(conn, size, folder, name):
    """Receive 'size' bytes into a temporary file, then rename it to folder/name."""
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:  # binary: the content is bytes, never text
            remaining = size
            while remaining:
                chunk = conn.recv(min(remaining, CHUNK))
                if not chunk:
                    raise UploadCutShort(f"{remaining} of {size} bytes missing")
                out.write(chunk)
                remaining -= len(chunk)
        os.replace(temporary, os.path.join(folder, name))  # the file appears whole, or not at all
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def receive_upload(conn, folder):
    """Read one upload from 'conn' and store it; Refused or UploadCutShort on failure."""
    name_length = int.from_bytes(recv_exactly(conn, 4), "big")
    if name_length > MAX_NAME:
        raise Refused("the name is too long")
    name = check_name(recv_exactly(conn, name_length))
    size = int.from_bytes(recv_exactly(conn, 8), "big")
    if size > MAX_SIZE:
        raise Refused("the file is too large")
    receive_content(conn, size, folder, name)
    return name, size


def serve_client(conn, address, folder):
    """Handle one upload, reply, then close the connection."""
    with conn:
        try:
            try:
                name, size = receive_upload(conn, folder)
            except Refused as why:
                conn.sendall(f"ERR {why}\n".encode())
                return
            except UploadCutShort as why:
                print(f"client {address}: upload cut short: {why}", file=sys.stderr)
                conn.sendall(b"ERR upload cut short\n")  # the client may still be reading
                return
            print(f"client {address}: stored {name!r} ({size} bytes)", flush=True)
            conn.sendall(b"OK\n")
        except OSError as exc:  # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)


def main():
    if len(sys.argv) != 4:
        print("usage: file_transfer_server.py HOST PORT FOLDER", file=sys.stderr)
        sys.exit(2)
    host, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(folder, exist_ok=True)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"file server listening on {host}:{port}, storing in {folder}", flush=True)
        while True:
            conn, address = server.accept()
            worker = threading.Thread(target=serve_client, args=(conn, address, folder),
                                      daemon=True)
            worker.start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
