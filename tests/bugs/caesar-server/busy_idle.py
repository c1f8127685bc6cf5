"""Known bug (docs/labs.md §3): busy loop while idle.

Polls a non-blocking listening socket in a tight loop instead of blocking in
accept(): 100% CPU with no client at all.
Must fail: resources/idle-cpu and resources/idle-cpu-client.
"""
import threading

from _caesar import handle, listen

server = listen()
server.setblocking(False)
while True:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        continue
    conn.setblocking(True)
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
