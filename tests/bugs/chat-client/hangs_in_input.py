"""Known bug (docs/labs.md §16): the reader thread ends, the main thread waits in input().

The reader thread prints the server's lines and, when the server closes or
resets, says so and returns; but the main thread is blocked in input() and
the program never exits until the user types.  EOF on stdin is handled
well (shutdown, then wait for the reader).  Fails shutdown/server-close and
shutdown/server-reset (it hangs).
"""
import socket
import sys
import threading

host, port, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.sendall((username + "\n").encode())


def receive():
    buffer = b""
    while True:
        try:
            data = sock.recv(4096)
        except OSError as e:
            print("Connection error:", e)
            return
        if not data:
            print("Server closed the connection")
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            print(line.decode())


reader = threading.Thread(target=receive)
reader.start()
while True:
    try:
        line = input()
    except EOFError:
        break
    sock.sendall((line + "\n").encode())
sock.shutdown(socket.SHUT_WR)
reader.join()
sock.close()
