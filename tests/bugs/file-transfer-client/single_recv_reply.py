"""Known bug (docs/labs.md §17): one recv() taken as the whole reply line.

When the reply arrives in two segments it prints only the first part ("O",
"ERR file ex"); when the server closes without replying it prints an empty
line and no error.  Fails reply/ok, reply/err and errors/closed-early.
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
    reply = sock.recv(1024).decode().strip()
    sock.close()
except OSError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(1)
print(reply)
sys.exit(0 if reply == "OK" else 1)
