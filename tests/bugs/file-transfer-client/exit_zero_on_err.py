"""Known bug (docs/labs.md §17): prints the reply but always exits 0.

A script or a Makefile calling it cannot tell a refused upload from a stored
one.  Errors it cannot recover from still exit 1.  Fails reply/err only.
"""
import os
import socket
import struct
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path).encode("utf-8")
    sock = socket.create_connection((host, port))
    sock.sendall(struct.pack(">I", len(name)) + name + struct.pack(">Q", len(data)) + data)
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
print(reply.decode().strip())
