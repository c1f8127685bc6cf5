"""A correct echo client that needs 0.09 CPU seconds of work before it connects (as a heavy
import would), for grading with almost no CPU: under a 2% CPU quota that work and its start
take about 6.5 s, past the grader's 5 s wait for the connection.  Such a client has been
starved by the machine, not stuck: it must be waited for, and then pass.
"""
import socket
import sys
import time

work_until = time.process_time() + 0.09
while time.process_time() < work_until:
    pass
host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
try:
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(message)
        received = b""
        while len(received) < len(message):
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed early")
            received += chunk
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
except (OSError, EOFError) as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
print(received.decode())
