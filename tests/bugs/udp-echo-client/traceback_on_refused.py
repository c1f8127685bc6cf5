"""Known bug (docs/labs.md §15): a traceback on ConnectionRefusedError.

Timeouts are handled (retry, then a clear message), but the ICMP port
unreachable that a connected socket reports as ConnectionRefusedError is
not caught.  Fails errors/no-server ("traceback").
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(1.0)
for attempt in range(3):
    sock.send(message.encode())
    try:
        data = sock.recv(65535)
    except socket.timeout:
        continue
    print(data.decode())
    break
else:
    print("timed out: no reply", file=sys.stderr)
    sys.exit(1)
