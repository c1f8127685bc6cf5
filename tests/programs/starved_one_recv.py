"""One recv() per connection, made late, as by a server starved of CPU on a loaded machine.

Like the known bug ``one_recv`` (docs/labs.md §1), it takes a single recv() as the whole
message, echoes it and closes; but it first pauses 0.3 s after each accept(), as a
server does that gets no CPU for that long.  Bytes written one at a time a few
milliseconds apart would all be waiting by then, and its one recv() would take the whole
message: ``partial/one-byte-writes`` must still fail it, by sending each byte only once
the server has read the one before.
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
    with conn:
        time.sleep(0.3)  # starved: the bytes sent meanwhile wait in its receive queue
        conn.sendall(conn.recv(1024))
