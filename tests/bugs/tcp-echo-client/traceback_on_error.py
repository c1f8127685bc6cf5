"""Known bug (docs/labs.md §14): no error handling.

Correct on the happy path, but connection refused or an early close ends in
a Python traceback instead of one clear line.
"""
import socket
import sys

sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
message = sys.argv[3].encode()
sock.sendall(message)
received = b""
while len(received) < len(message):
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("server closed early")
    received += chunk
print(received.decode())
sock.close()
