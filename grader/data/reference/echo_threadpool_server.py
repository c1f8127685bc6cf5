"""Reference thread-pool TCP echo server (lab 4 of the sockgrade lab catalogue).

Usage: python echo_threadpool_server.py HOST PORT WORKERS

The lab 1 echo contract (every byte back, in order, until the client ends
its side; then finish sending and close), served by a fixed pool of WORKERS
threads.  The main thread only accepts connections and puts them in a
queue; each worker takes one connection from the queue, serves it to the
end, and takes the next.  So at most WORKERS clients are served at once,
and the thread count stays WORKERS + 1 however many clients connect.  A
client beyond WORKERS is accepted and simply waits in the queue until a
worker is free: it is never refused.  Standard library only.
"""

import contextlib
import queue
import socket
import sys
import threading


def serve_client(conn, address):
    """Echo everything from one client until it closes its side (recv returns b'')."""
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:  # b'' means the client half-closed: we are done
                    break
                conn.sendall(data)  # send() may send only part; sendall() loops
        except OSError as exc:  # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)


def worker(jobs):
    """Serve connections from the queue, one after another, forever."""
    while True:
        conn, address = jobs.get()  # blocks (without spinning) until a client waits
        serve_client(conn, address)


def main():
    if len(sys.argv) != 4 or not sys.argv[3].isdigit() or int(sys.argv[3]) < 1:
        print("usage: echo_threadpool_server.py HOST PORT WORKERS (WORKERS >= 1)",
              file=sys.stderr)
        sys.exit(2)
    host, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    jobs = queue.Queue()  # accepted connections waiting for a free worker
    for _ in range(workers):
        # daemon=True: workers blocked on a client do not keep the process alive at exit
        threading.Thread(target=worker, args=(jobs,), daemon=True).start()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)
        print(f"thread-pool echo server ({workers} workers) listening on {host}:{port}",
              flush=True)
        while True:
            jobs.put(server.accept())  # (conn, address); waits for a worker in the queue


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
