"""Known bug (docs/labs.md §2): an iterative server, no concurrency at all.

Correct for one client at a time, but a second client waits while the first
is connected: fails concurrency/second-client (a silent first client),
concurrency/many-clients (100 held connections), concurrency/non-reading-client
and concurrency/interleaved (the second client is never served).  Under
echo-threadpool-server (clients close when done, so many-clients passes) it
also fails process/bounded-threads: one client at a time, not N.
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
