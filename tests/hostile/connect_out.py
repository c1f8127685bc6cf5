"""Hostile: tries to connect out before it listens, and says how each attempt went.

Targets: every extra argument ``HOST:PORT`` (``gateway:PORT`` names its
default gateway), and by default its default gateway on port 22 and
1.1.1.1:53.  It prints ``connect-out HOST:PORT:
connected`` or ``connect-out HOST:PORT: blocked (ERROR)``, then echoes
correctly.  Local runner on a shared loopback: nothing stops it; in a
network namespace of its own (root) there is no route out.  Docker: the container's
network reaches the grader and nothing else (no route off the machine, no
host service, no other container), so every attempt is blocked.
"""
import socket
import struct
import sys


def default_gateway():
    with open("/proc/net/route") as routes:
        for line in routes.readlines()[1:]:
            cols = line.split()
            if cols[1] == "00000000" and int(cols[3], 16) & 2:
                return socket.inet_ntoa(struct.pack("<L", int(cols[2], 16)))
    return None


targets = sys.argv[3:]
if not targets:
    gateway = default_gateway()
    targets = ([f"{gateway}:22"] if gateway else []) + ["1.1.1.1:53"]
for target in targets:
    host, _, port = target.rpartition(":")
    if host == "gateway":
        host = default_gateway() or "0.0.0.0"
        target = f"{host}:{port}"
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            print(f"connect-out {target}: connected", flush=True)
    except OSError as exc:
        print(f"connect-out {target}: blocked ({exc!r})", flush=True)

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
