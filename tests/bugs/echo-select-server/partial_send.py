"""Known bug (docs/labs.md §3): a partial send() on a non-blocking socket drops the rest.

Non-blocking sockets and a per-client queue, but the write phase calls
send(queue) and then empties the whole queue, ignoring the count send()
returned.  When the client's socket buffer is full, send() takes only part
and the rest is lost: fails partial/backpressure and
concurrency/half-close-queued (the large transfers come back short).
"""
import select
import socket
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
server.setblocking(False)
pending = {}   # socket -> bytearray
done = set()   # clients that half-closed
while True:
    readers = [server] + [s for s in pending if s not in done]
    writers = [s for s, buf in pending.items() if buf]
    readable, writable, _ = select.select(readers, writers, [])
    for sock in readable:
        if sock is server:
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            pending[conn] = bytearray()
            continue
        try:
            data = sock.recv(1024 * 1024)  # big reads: big sends, often only partly taken
        except BlockingIOError:
            continue
        except OSError:
            data = None
        if data:
            pending[sock] += data
        elif data is None or not pending[sock]:
            del pending[sock]
            done.discard(sock)
            sock.close()
        else:
            done.add(sock)
    for sock in writable:
        if sock not in pending:
            continue
        try:
            sock.send(pending[sock])  # BUG: may send only part...
        except BlockingIOError:
            continue
        except OSError:
            pass
        pending[sock].clear()         # ...and the rest is thrown away
        if sock in done:
            del pending[sock]
            done.discard(sock)
            sock.close()
