"""Known bug (docs/labs.md §16): reads stdin and the socket in turn.

The loop waits in input(), sends the line, then prints whatever the server
sent meanwhile (a select() with a zero timeout): lines from the room appear
only after the user types the next line.  Tried alone at a terminal it looks
fine.  Fails print/while-idle, print/coalesced and print/split-line (nothing
printed while stdin is idle), shutdown/server-close and shutdown/server-reset
(stuck in input(): it hangs), and shutdown/stdin-eof (the server's last line
is still unread when it closes at EOF, so the close is a reset).
"""
import select
import socket
import sys

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
print(sock.recv(1024).decode(), end="")  # the prompt
sock.sendall((username + "\n").encode())
print(sock.recv(1024).decode(), end="")  # the welcome
while True:
    try:
        line = input()
    except EOFError:
        break
    sock.sendall((line + "\n").encode())
    ready, _, _ = select.select([sock], [], [], 0)
    if ready:
        data = sock.recv(4096)
        if not data:
            print("server closed")
            break
        print(data.decode(), end="")
sock.close()
