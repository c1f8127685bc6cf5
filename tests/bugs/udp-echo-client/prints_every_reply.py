"""Known bug (docs/labs.md §15): prints every reply it gets.

After each send it keeps reading until the socket is quiet for a second,
printing every datagram: a duplicated reply, or the late reply to the
first request plus the reply to the retry, is printed twice.  Fails
retransmit/duplicated-reply and retransmit/late-reply ("2 times").
"""
import socket
import sys

host, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(1.0)
got_reply = False
try:
    for attempt in range(3):
        sock.send(message.encode())
        while True:
            try:
                data = sock.recv(65535)
            except socket.timeout:
                break
            print(data.decode())
            got_reply = True
        if got_reply:
            break
except ConnectionRefusedError:
    print("the server is not running", file=sys.stderr)
    sys.exit(1)
if not got_reply:
    print("no reply after 3 tries", file=sys.stderr)
    sys.exit(1)
