"""Known bug (docs/labs.md §2): a threaded server that never frees its threads.

Each client gets a reader thread and a writer thread joined by a queue.  On
EOF the reader waits until the writer has sent everything, closes the socket
and returns, but the writer stays blocked in queue.get() forever: one thread
leaks per client.  The echo itself is correct, so only process/threads-freed
fails (the thread count never goes back down after clients leave).  Small
thread stacks keep the 1,000+ leaked threads of the other probes within the
memory limit, so the leak shows as a thread count rather than as a crash.
"""
import queue
import socket
import sys
import threading


def writer(conn, outbox):
    while True:
        data = outbox.get()  # never returns once the client is gone
        try:
            conn.sendall(data)
        except OSError:
            pass
        outbox.task_done()


def reader(conn):
    outbox = queue.Queue()
    threading.Thread(target=writer, args=(conn, outbox), daemon=True).start()
    try:
        while data := conn.recv(65536):
            outbox.put(data)
    except OSError:
        pass
    outbox.join()  # everything echoed...
    conn.close()   # ...then close; the writer thread is never told to stop


threading.stack_size(256 * 1024)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=reader, args=(conn,), daemon=True).start()
