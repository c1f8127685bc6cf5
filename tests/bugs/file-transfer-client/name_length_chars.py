"""Known bug (docs/labs.md §17): the name length counted in characters, not UTF-8 bytes.

len(name) of the str is right only for ASCII names: with "café 日本語.txt" the
field is shorter than the bytes sent, and the server cuts the name and reads
its tail as the size.  Fails upload/non-ascii-name only.
"""
import os
import socket
import struct
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    sock = socket.create_connection((host, port))
    sock.sendall(struct.pack(">I", len(name)) + name.encode("utf-8")
                 + struct.pack(">Q", len(data)) + data)
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
