"""Known bug (docs/labs.md §15): the reply decoded as Latin-1.

Decoding with latin-1 "never fails", so it looked safe: ASCII replies are
right, but any non-ASCII character prints as mojibake.  Fails
echo/non-ascii ("Latin-1").
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(1.0)
try:
    for attempt in range(3):
        sock.send(message.encode("utf-8"))
        try:
            data = sock.recv(65535)
        except socket.timeout:
            continue
        print(data.decode("latin-1"))
        sys.exit(0)
except OSError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
print("error: no reply", file=sys.stderr)
sys.exit(1)
