"""Hostile: asks for 10 GiB of memory (and touches it) before it listens.

Local runner: the address-space limit (RLIMIT_AS) makes the allocation fail
with MemoryError: crashed at start, with the traceback.  Docker: the
container's memory limit (256 MiB, no swap) gets it OOM-killed: crashed at
start, exit status 137, and stderr says the memory limit was reached.
"""
import socket
import sys

blob = b"\x01" * (10 * 2**30)  # 10 GiB, every page written

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
