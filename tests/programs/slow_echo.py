"""A correct but slow echo server: 4 KiB per recv() and a 5 ms pause after each echo.

Every byte comes back, in order, and bytes never stop moving for long, but
16 MiB take over 20 s: a probe whose time limit is shorter must give no
verdict (an excused error), neither a failure nor a pass.
"""
import socket
import sys
import time

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(16)
while True:
    conn, _ = server.accept()
    with conn:
        try:
            while data := conn.recv(4096):
                conn.sendall(data)
                time.sleep(0.005)
        except OSError:
            pass
