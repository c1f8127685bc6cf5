"""Known bug (docs/labs.md §15): no timeout, so it waits forever.

A blocking recv() with no settimeout(): a lost request or a silent server
leaves it waiting forever.  Fails retransmit/first-dropped and
errors/silent-server ("hung"/"waited forever"); retransmit/late-reply is
skipped.  With no server at all the connected socket's recv() raises
ConnectionRefusedError, which it reports properly.
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
try:
    sock.send(message.encode())
    data = sock.recv(65535)
except OSError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(1)
print(data.decode())
