"""Known bug (docs/labs.md §1, in a §11 server): a busy loop.

The listening socket and the client sockets are non-blocking and polled
in a loop without select(): 100% CPU while nothing happens.
Must fail: resources/idle-cpu, resources/idle-cpu-client.
"""
import socket

import _student


def serve_polling(server):
    clients = []  # (conn, buffer)
    while True:
        try:
            conn, addr = server.accept()
            conn.setblocking(False)
            clients.append((conn, bytearray()))
        except BlockingIOError:
            pass
        for conn, buf in list(clients):
            try:
                data = conn.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                clients.remove((conn, buf))
                conn.close()
                continue
            buf += data
            while b"\r\n\r\n" in buf:
                head, _, rest = bytes(buf).partition(b"\r\n\r\n")
                buf[:] = rest
                conn.setblocking(True)
                try:
                    keep = _student.handle(conn, head)
                except OSError:
                    keep = False
                conn.setblocking(False)
                if not keep:
                    clients.remove((conn, buf))
                    conn.close()
                    break


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((_student.HOST, _student.PORT))
server.listen(50)
server.setblocking(False)
serve_polling(server)
