"""Known bug: Python 2 code (print statement) - crashes at start under Python 3."""
import socket
import sys

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
print "listening"
while True:
    conn, addr = server.accept()
    data = conn.recv(1024)
    conn.send(data)
