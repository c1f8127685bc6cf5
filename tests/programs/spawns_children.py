"""A server that starts a child which detaches (setsid) and a grandchild, then serves.

With a fourth argument ``bare`` it also starts a detached child with an empty environment
(no run token): only the program's pids cgroup still knows it.  The launcher must kill all
of them when grading ends."""
import os
import socket
import subprocess
import sys

pidfile = sys.argv[3] if len(sys.argv) > 3 else None
child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"],
                         start_new_session=True)
SLEEPER = "import time\\nwhile True: time.sleep(1)"
grandchild = subprocess.Popen([sys.executable, "-c",
                               "import subprocess, sys, time\n"
                               f"subprocess.Popen([sys.executable, '-c', '{SLEEPER}'])\n"
                               "while True: time.sleep(1)"])
pids = [os.getpid(), child.pid, grandchild.pid]
if sys.argv[4:] == ["bare"]:
    pids.append(subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"],
                                 start_new_session=True, env={}).pid)
if pidfile:
    with open(pidfile, "w") as handle:
        handle.write(" ".join(map(str, pids)) + "\n")
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
