"""Known bug (docs/labs.md §18): threads collect the open ports in a set, printed as it iterates.

A set has no order (small integers come out by their hash, modulo the
table size), so the lines are not in ascending port order.  Fails
scan/ascending ("ascending order").
"""
import socket
import sys
import threading

host, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    address = socket.gethostbyname(host)
except OSError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
found = set()
lock = threading.Lock()


def worker(ports):
    for port in ports:
        with socket.socket() as sock:
            sock.settimeout(0.3)
            if sock.connect_ex((address, port)) == 0:
                with lock:
                    found.add(port)


ports = list(range(first, last + 1))
threads = [threading.Thread(target=worker, args=(ports[i::16],)) for i in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
for port in found:
    print(f"port {port}: OPEN")
