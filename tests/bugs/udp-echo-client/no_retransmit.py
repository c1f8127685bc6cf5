"""Known bug (docs/labs.md §15): no retransmission.

One datagram, one wait of 2 s, then it gives up: a lost request is never
sent again.  Fails retransmit/first-dropped (one datagram, then exit 1);
retransmit/late-reply depends on it and is skipped.
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(2.0)
try:
    sock.send(message.encode())
    data = sock.recv(65535)
except OSError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(1)
print(data.decode())
