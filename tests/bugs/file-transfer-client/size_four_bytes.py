"""Known bug (docs/labs.md §17): the size field packed in 4 bytes ('>I') instead of 8 ('>Q').

Every upload's header is then 4 bytes short and the server reads the first
content bytes as part of the size: upload/framing fails and every probe that
needs a working upload is skipped; the error probes still run and pass.
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
    sock.sendall(struct.pack(">I", len(name)) + name + struct.pack(">I", len(data)) + data)
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
