"""Known bug (docs/labs.md §8): Python 2 code (print statement) - crashes at start under Python 3.

Must fail: startup/listens (SyntaxError), so every other probe is skipped.
"""
import socket
import sys

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
print "caesar server listening"
while True:
    conn, addr = server.accept()
    request = conn.recv(1024)
    conn.send(request)
    conn.close()
