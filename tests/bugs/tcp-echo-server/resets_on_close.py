"""Known bug: closes every connection with RST (SO_LINGER 0) instead of FIN.

The client sees "connection reset" where an orderly EOF was due.
"""
import socket
import struct

from _threaded import run


def handle(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
    finally:
        conn.close()


run(handle)
