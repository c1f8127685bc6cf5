"""Known bug (docs/labs.md §15): recvfrom() trusts anyone.

An unconnected socket and ``recvfrom()`` whose sender address is thrown
away: the first datagram from any address or port is printed as the reply.
Fails robustness/foreign-sender (it prints the stranger's datagram).  It
times out and retries, so every other probe passes; with no server it
gets no ICMP error (an unconnected socket is not told) and gives up after
its tries.
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(1.0)
for attempt in range(3):
    sock.sendto(message.encode(), (host, port))
    try:
        data, addr = sock.recvfrom(65535)
    except socket.timeout:
        continue
    print(data.decode())
    sys.exit(0)
print("no reply from the server", file=sys.stderr)
sys.exit(1)
