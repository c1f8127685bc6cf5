"""Known bug: binds, listens for nothing, and exits with status 0 (no accept loop)."""
import socket
import sys

server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
