"""Known bug (docs/labs.md §17): the whole file read at once, then sent with send().

With a timeout the socket is non-blocking underneath: when the server reads
slowly, send() takes only what fits in the send buffer and returns, and the
rest of a large file is never sent.  Small files go out whole, so only
upload/large-file fails (the upload stops short).
"""
import os
import socket
import struct
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path).encode()
    sock = socket.create_connection((host, port), timeout=10)
    sock.send(struct.pack(">I", len(name)) + name + struct.pack(">Q", len(data)) + data)
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
