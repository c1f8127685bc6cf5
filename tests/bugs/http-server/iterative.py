"""Not a bug in lab 11: an iterative server (one connection at a time).

While a client sits on half a request, nobody else is served; lab 11 does
not require concurrency, so that probe is advice.
Must fail: concurrency/half-request (informational).
"""
import _student


def main():
    import socket

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((_student.HOST, _student.PORT))
    server.listen(50)
    while True:
        conn, addr = server.accept()
        _student.serve(conn)


main()
