"""Known bug (docs/labs.md §1, in a §11 server): serves a fixed number of clients.

'for i in range(100):' around accept(): client 101 is refused.
Must fail: robustness/sequential-clients.
"""
import socket
import threading

import _student

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((_student.HOST, _student.PORT))
server.listen(50)
for i in range(100):
    conn, addr = server.accept()
    threading.Thread(target=_student.serve, args=(conn,), daemon=True).start()
server.close()
threading.Event().wait()  # the handlers run on; no new client is accepted
