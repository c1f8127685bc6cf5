"""Known bug (docs/labs.md §3): blocking sockets and sendall() inside the select() loop.

Each readable client's data is echoed at once with a blocking sendall().  It
works while every client reads, but a client that sends a lot and never
reads makes sendall() block forever once its buffers are full, and the one
thread stops serving everybody: fails concurrency/non-reading-client.
"""
import select
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
inputs = [server]
while True:
    readable, _, _ = select.select(inputs, [], [])
    for sock in readable:
        if sock is server:
            conn, _ = server.accept()
            inputs.append(conn)
            continue
        try:
            data = sock.recv(65536)
            if data:
                sock.sendall(data)  # BUG: blocks the whole loop on a slow reader
                continue
        except OSError:
            pass
        inputs.remove(sock)
        sock.close()
