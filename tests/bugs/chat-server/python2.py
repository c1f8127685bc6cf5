"""Known bug: Python 2 code (print statement).

Crashes at start: startup/listens fails; every other probe is skipped.
"""
import socket
import sys

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
print "chat server on port", sys.argv[2]
while True:
    conn, _ = server.accept()
