"""Known bug (docs/labs.md "Starting programs", in a §11 server): the arguments are read in the
wrong order.

Started as 'python server.py HOST PORT ROOT', but the port is read from
argv[1]: int('127.0.0.1') raises ValueError and the server never starts.
Must fail: startup/listens (everything after it is skipped).
"""
import socket
import sys

PORT = int(sys.argv[1])
ROOT = sys.argv[2]

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("", PORT))
server.listen(5)
while True:
    conn, addr = server.accept()
    conn.close()
