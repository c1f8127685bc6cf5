"""Known bug (docs/labs.md §17): no error handling at all.

Correct when everything works, but a refused connection, a server that
closes before replying and a missing FILE all end in a Python traceback
instead of one clear line.  Fails errors/refused, errors/closed-early and
errors/missing-file.
"""
import os
import socket
import struct
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
reply = reply.decode().strip()
print(reply)
sys.exit(0 if reply == "OK" else 1)
