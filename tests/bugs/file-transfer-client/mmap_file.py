"""Known bug (docs/labs.md §17): maps the file with mmap "to avoid reading it into memory".

mmap refuses an empty file (ValueError: cannot mmap an empty file), which the
OSError handler does not catch: the client dies with a traceback before it
connects.  Fails upload/empty-file only.
"""
import mmap
import os
import socket
import struct
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        name = os.path.basename(path).encode("utf-8")
        sock = socket.create_connection((host, port))
        sock.sendall(struct.pack(">I", len(name)) + name + struct.pack(">Q", len(data)))
        sock.sendall(data)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(1024)
        if not chunk:
            raise ConnectionError("server closed the connection")
        reply += chunk
    sock.close()
except OSError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(1)
reply = reply.decode().strip()
print(reply)
sys.exit(0 if reply == "OK" else 1)
