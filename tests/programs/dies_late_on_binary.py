"""Dies late after a client that sent a NUL byte has gone: what a starved server does.

An iterative echo server that echoes every byte correctly, but once a
client whose bytes held a NUL has closed its connection, it runs for 0.3 s
of CPU (as a server waiting for a CPU on a loaded machine takes that long
to get there) and then dies of an uncaught exception.  Its ``with conn:``
block has already closed the socket by then, so the only sign that it is
still reacting to the probe is that it is running.  Only ``echo/binary``
sends a NUL byte: the crash is charged to it, never to the probe after it,
and never missed.  (Being iterative, it also fails the informational
``concurrency/second-client``.)
"""
import socket
import sys
import time

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    nul = False
    with conn:
        try:
            while True:
                data = conn.recv(1024)
                if not data:
                    break
                nul = nul or b"\0" in data
                conn.sendall(data)
        except OSError:  # a client reset: serve the next one
            continue
    if nul:
        busy_until = time.monotonic() + 0.3
        while time.monotonic() < busy_until:  # on the CPU, as a starved server would be
            pass
        raise ValueError("a NUL byte in the request")
