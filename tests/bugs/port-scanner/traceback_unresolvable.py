"""Known bug: no error handling around name resolution.

An unresolvable host raises socket.gaierror out of connect_ex(): the scanner
dies with a traceback.  Fails errors/unresolvable ("traceback").
"""
import socket
import sys

host, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for port in range(first, last + 1):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        if sock.connect_ex((host, port)) == 0:
            print(f"port {port}: OPEN")
