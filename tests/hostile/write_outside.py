"""Hostile: writes files outside its working folder, then echoes correctly.

Targets: every extra argument (default: /tmp/sockgrade-escape.txt), each
created with its folders.  It prints ``wrote PATH`` or ``could not write
PATH: ERROR`` for each.  Local runner: nothing stops it (the program runs as
the grader's user, which may write there: grade untrusted code with
--runner docker).  Docker: the root file system is read-only and the only
writable places are the container's own tmpfs folders, so nothing reaches
the host, and the original submission folder is never written.
"""
import os
import socket
import sys

for path in sys.argv[3:] or ["/tmp/sockgrade-escape.txt"]:
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as out:
            out.write("escaped\n")
        print(f"wrote {path}", flush=True)
    except OSError as exc:
        print(f"could not write {path}: {exc}", flush=True)

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
