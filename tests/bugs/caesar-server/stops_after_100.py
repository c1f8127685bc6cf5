"""Known bug: serves a fixed number of clients (100), then exits.

Must fail: robustness/sequential-clients.
"""
from _caesar import handle, listen

server = listen()
for _ in range(100):
    conn, _ = server.accept()
    handle(conn)
