"""Known bug (docs/labs.md §15): a newline added to the message.

A habit from line-based TCP protocols: the datagram is MESSAGE + "\\n",
and the reply is stripped before printing so the output looks right.
Fails echo/prints-reply ("no newline added"); every probe that depends on
it is skipped.  The error probes pass: it handles no server and a silent
one properly.
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(1.0)
try:
    for attempt in range(3):
        sock.send((message + "\n").encode())
        try:
            data = sock.recv(65535)
        except socket.timeout:
            continue
        print(data.decode().strip())
        sys.exit(0)
except OSError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
print("error: no reply", file=sys.stderr)
sys.exit(1)
