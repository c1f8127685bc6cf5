"""Bug: one client at a time and no error handling: a client's reset kills the server.

ConnectionResetError (on the control connection) or BrokenPipeError (in the
middle of a RETR) ends the process.  Fails robustness/client-reset,
robustness/reset-mid-transfer and concurrency/two-sessions.
"""
import socket
import sys

from _ftp import Session

host, port = sys.argv[1], int(sys.argv[2])
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen()
while True:
    conn, _ = server.accept()
    session = Session(conn)
    session.run()
    session.lines.close()
    conn.close()
