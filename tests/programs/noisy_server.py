"""A correct echo server that prints hostile bytes: ANSI escapes, control characters,
invalid UTF-8, XML-looking text.  Reports must stay valid XML and clean text."""
import socket
import sys
import threading

NOISE = (b"\x1b[31mred\x1b[0m \x00\x01\x07\x08\x0b\x0c\x1f\x7f \xff\xfe\xc3\x28 "
         b"]]> <testcase name='x'/> &amp; \xed\xa0\x80 \xef\xbf\xbe\n")
sys.stdout.buffer.write(NOISE * 3)
sys.stdout.flush()
sys.stderr.buffer.write(NOISE)
sys.stderr.flush()


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
