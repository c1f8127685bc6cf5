"""Reference chat client (lab 16 of the sockgrade lab catalogue).

Usage: python chat_client.py HOST PORT USERNAME

Connects to the lab 7 chat server, sends USERNAME as the first line, then
waits on two things at once with select(): the socket and stdin.  Whatever
the server sends is printed the moment it arrives, even while nothing is
typed; each line typed on stdin is sent as one line.  Bytes from the server
go to stdout as they come (no newline added), so a line split across
segments still prints whole and lines that arrive together print in order;
stdin is read in chunks and cut into lines, so a line typed in pieces is sent
whole.

At EOF on stdin (Ctrl-D) the client shuts down its sending side and reads
until the server closes too, so nothing is left unread (no RST), then exits
0.  When the server closes, or resets, the client says so on stderr and
exits (0 after a close, 1 after an error).  Standard library only; Unix
(select() on stdin needs a pipe or a terminal).
"""

import os
import selectors
import socket
import sys


def chat(sock, username):
    """Run the session on the connected ``sock``; returns the exit status."""
    sock.sendall(username.encode("utf-8") + b"\n")
    stdin = sys.stdin.fileno()
    out = sys.stdout.buffer
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(stdin, selectors.EVENT_READ)
    typed = b""  # part of a line typed so far (no newline yet)
    while True:
        for key, _ in selector.select():  # blocks: no busy loop while idle
            if key.fileobj is sock:
                data = sock.recv(65536)
                if not data:
                    print("connection closed by the server", file=sys.stderr)
                    return 0
                out.write(data)
                out.flush()  # print at once, even without a newline yet
            else:
                chunk = os.read(stdin, 65536)
                if not chunk:  # EOF: send what was typed, then say we are done
                    if typed:
                        sock.sendall(typed + b"\n")
                    selector.unregister(stdin)
                    sock.shutdown(socket.SHUT_WR)  # FIN; keep reading until the server closes
                    continue
                typed += chunk
                *lines, typed = typed.split(b"\n")
                for line in lines:
                    sock.sendall(line + b"\n")


def main():
    if len(sys.argv) != 4:
        print("usage: chat_client.py HOST PORT USERNAME", file=sys.stderr)
        sys.exit(2)
    host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.settimeout(None)  # the connect had a timeout; the chat waits as long as needed
            status = chat(sock, username)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(status)


if __name__ == "__main__":
    main()
