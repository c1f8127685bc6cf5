"""Known bug: serves a fixed number of clients (100), then exits.

Must fail: robustness/sequential-clients.
"""
import threading

from _upload import handle, listen

server = listen()
workers = []
for _ in range(100):
    conn, _ = server.accept()
    workers.append(threading.Thread(target=handle, args=(conn,)))
    workers[-1].start()
for worker in workers:
    worker.join()
