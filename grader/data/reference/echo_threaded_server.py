"""Reference threaded TCP echo server (lab 2 of the sockgrade lab catalogue).

Usage: python echo_threaded_server.py HOST PORT

The lab 1 echo contract (every byte back, in order, until the client ends
its side; then finish sending and close), served to many clients at once:
each accepted connection gets its own thread.  A silent client, or one that
sends a lot and never reads, only ever blocks its own thread, never the
others.  A thread ends when its client leaves, so the thread count goes back
down.  Standard library only.
"""

import contextlib
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
                # sendall() may block while this client is not reading; that only
                # stalls this thread, which is the point of a thread per client.
                conn.sendall(data)
        except OSError as exc:  # e.g. ConnectionResetError: that client is gone
            print(f"client {address}: {exc}", file=sys.stderr)
    # Leaving the 'with' block closes the socket (the client sees EOF), and
    # returning ends the thread: nothing is left behind when a client leaves.


def main():
    if len(sys.argv) != 3:
        print("usage: echo_threaded_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        # Without SO_REUSEADDR a restarted server cannot bind the port while
        # old connections linger in TIME_WAIT (up to a minute).
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(128)  # room for many clients connecting at the same moment
        print(f"threaded echo server listening on {host}:{port}", flush=True)
        while True:
            conn, address = server.accept()
            # daemon=True: a client still connected does not keep the process alive at exit
            worker = threading.Thread(target=serve_client, args=(conn, address), daemon=True)
            worker.start()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
