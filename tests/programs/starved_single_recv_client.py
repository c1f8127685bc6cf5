"""An echo client that takes one recv() as the whole echo, made late, as by a client starved of
CPU on a loaded machine.

Like the known bug ``single_recv`` (docs/labs.md §14) it prints whatever its first recv()
returns and closes; but it first pauses 1 s after sending, as a client does that gets no
CPU for that long.  An echo written one byte at a time a few milliseconds apart would all be
waiting by then, and its one recv() would take the whole of it: ``partial/slow-echo`` must
still fail it, by sending each byte only once the client has read the one before.
"""
import socket
import sys
import time

try:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    sock.sendall(sys.argv[3].encode())
    time.sleep(1.0)  # starved: the echo sent meanwhile waits in its receive queue
    print(sock.recv(1024).decode())
    sock.close()
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
