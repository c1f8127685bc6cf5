"""Known bug (docs/labs.md §17): sends the path as given, not the base name.

Tested with `python client.py localhost 5000 notes.txt` it looks right, but a
FILE with directories (`sub/dir/x.bin`) puts the directories in the name, and
the server refuses or mis-stores it.  Fails upload/base-name only (the other
upload probes accept a name whose last part is the file's name).
"""
import os
import socket
import struct
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, "rb") as f:
        data = f.read()
    name = path.encode("utf-8")
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
reply = reply.decode().strip()
print(reply)
sys.exit(0 if reply == "OK" else 1)
