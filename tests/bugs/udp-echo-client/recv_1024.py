"""Known bug (docs/labs.md §15): recv(1024).

Correct except for the buffer size: a reply larger than 1,024 bytes is
truncated (UDP drops the rest of the datagram).  Fails
partial/largest-datagram ("truncated").
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(1.0)
try:
    for attempt in range(3):
        sock.send(message.encode())
        try:
            data = sock.recv(1024)
        except socket.timeout:
            continue
        print(data.decode())
        sys.exit(0)
except OSError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
print("error: no reply", file=sys.stderr)
sys.exit(1)
