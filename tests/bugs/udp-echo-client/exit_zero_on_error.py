"""Known bug (docs/labs.md §15): exit status 0 on failure.

It retries and reports errors on stderr, but then just ends, with status 0,
so a script cannot tell that no reply came.  Fails errors/no-server and
errors/silent-server ("status 0").
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(1.0)
reply = None
try:
    for attempt in range(3):
        sock.send(message.encode())
        try:
            reply = sock.recv(65535)
            break
        except socket.timeout:
            pass
except ConnectionRefusedError:
    print("error: server not reachable", file=sys.stderr)
if reply is not None:
    print(reply.decode())
elif attempt == 2:
    print("error: no reply after 3 tries", file=sys.stderr)
