"""Known bug: Python 2 code (print statement).

Crashes at start: startup/bound fails; every other probe is skipped.
"""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], int(sys.argv[2])))
print "UDP echo server on port", sys.argv[2]
while True:
    data, address = sock.recvfrom(65535)
    sock.sendto(data, address)
