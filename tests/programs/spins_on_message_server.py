"""A server that listens and accepts, then spins on the first message instead of echoing
it.  With the CPU it fails the echo ("no reply"); graded with almost no CPU it is still
runnable, with under a tenth of a CPU second used, another reply timeout after the reply
deadline: the machine's fault (an error), not a failure.
"""
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen()
conn, _ = server.accept()
conn.recv(65536)
while True:
    pass
