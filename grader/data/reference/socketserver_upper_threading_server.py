"""Reference concurrent upper-case server: socketserver with ThreadingMixIn (lab 5, variant).

Usage: python socketserver_upper_threading_server.py HOST PORT

The same protocol as socketserver_upper_server.py: one line of at most 1024
bytes ending in "\\n" in; that line stripped and upper-cased, plus "\\n",
out; then close.  ThreadingMixIn serves each connection in its own thread,
so a client that connects and stays silent does not hold up the others.
Standard library only.
"""

import contextlib
import socketserver
import sys

#: The longest request line, newline included (docs/labs.md §5).
MAX_LINE = 1024


class UpperHandler(socketserver.StreamRequestHandler):
    """Serves one connection, in its own thread: one line in, one line out."""

    def handle(self):
        try:
            # readline() reads until b"\n" however the line was split in transit.
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            self.wfile.write(line.strip().upper() + b"\n")
        except OSError as exc:  # e.g. ConnectionResetError: this client is gone
            print(f"client {self.client_address}: {exc}", file=sys.stderr)


class ThreadingUpperServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    # The mixin comes first so its process_request() (start a thread) is used.
    daemon_threads = True  # handler threads do not keep the process alive at exit
    allow_reuse_address = True  # rebind at once after a restart (TIME_WAIT)
    request_queue_size = 64


def main():
    if len(sys.argv) != 3:
        print("usage: socketserver_upper_threading_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with ThreadingUpperServer((host, port), UpperHandler) as server:
        print(f"threading upper server listening on {host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
