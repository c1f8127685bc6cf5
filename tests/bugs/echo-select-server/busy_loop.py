"""Known bug (docs/labs.md §3): busy loop while idle.

Every client is always in select()'s write list, whether or not anything is
queued for it.  A connected socket is nearly always writable, so select()
returns at once, forever: 100% CPU while a client is connected and silent.
The echo is correct, so only resources/idle-cpu-client fails.
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
done = set()
while True:
    readers = [server] + [s for s in pending if s not in done]
    writers = list(pending)  # BUG: watched for writing even with nothing to write
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
            data = sock.recv(65536)
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
        if sock not in pending or not pending[sock]:
            continue
        try:
            sent = sock.send(pending[sock])
        except BlockingIOError:
            continue
        except OSError:
            sent = len(pending[sock])
        del pending[sock][:sent]
        if not pending[sock] and sock in done:
            del pending[sock]
            done.discard(sock)
            sock.close()
