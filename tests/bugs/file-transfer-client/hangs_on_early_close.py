"""Known bug (docs/labs.md §17): ignores recv() == b''.

Loops until the newline arrives without checking for EOF: a server that
closes before replying leaves it spinning forever.  Fails errors/closed-early
only (for hanging).
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
        reply += sock.recv(1024)
    sock.close()
except OSError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(1)
reply = reply.decode().strip()
print(reply)
sys.exit(0 if reply == "OK" else 1)
