"""Known bug (docs/labs.md §16): polls a non-blocking socket in a loop.

To avoid threads the socket is made non-blocking and recv() is retried
forever, with select() on stdin with a zero timeout: it works, at 100% of
a CPU while nothing happens.  Fails resources/idle-cpu only.
"""
import os
import select
import socket
import sys

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.sendall((username + "\n").encode())
sock.setblocking(False)
stdin_open = True
typed = b""
while True:
    try:
        data = sock.recv(4096)
        if not data:
            print("Server closed the connection")
            break
        sys.stdout.write(data.decode())
    except BlockingIOError:
        pass
    except OSError as e:
        print("Connection lost:", e)
        break
    if stdin_open and select.select([sys.stdin], [], [], 0)[0]:
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            stdin_open = False
            sock.shutdown(socket.SHUT_WR)
            continue
        typed += chunk
        while b"\n" in typed:
            line, typed = typed.split(b"\n", 1)
            sock.sendall(line + b"\n")
sock.close()
