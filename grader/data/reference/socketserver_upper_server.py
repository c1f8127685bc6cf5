"""Reference upper-case server built on socketserver (lab 5 of the sockgrade lab catalogue).

Usage: python socketserver_upper_server.py HOST PORT

A request is one line of at most 1024 bytes ending in "\\n".  The reply is
that line stripped of surrounding whitespace and upper-cased, plus "\\n";
then the server closes the connection.  One client at a time (plain
TCPServer); see socketserver_upper_threading_server.py for the concurrent
variant.  Standard library only.
"""

import contextlib
import socketserver
import sys

#: The longest request line, newline included (docs/labs.md §5).
MAX_LINE = 1024


class UpperHandler(socketserver.StreamRequestHandler):
    """Serves one connection: one line in, one line out (then socketserver closes it)."""

    def handle(self):
        try:
            # readline() keeps calling recv() until it sees b"\n", so a request
            # split across several TCP segments still arrives whole.  One
            # recv(1024) would return whatever part has arrived so far.
            line = self.rfile.readline(MAX_LINE)
            if not line:  # the client closed without sending anything
                return
            # bytes.strip() removes spaces, tabs and the "\r\n"/"\n" at the end.
            self.wfile.write(line.strip().upper() + b"\n")
        except OSError as exc:  # e.g. ConnectionResetError: this client is gone
            print(f"client {self.client_address}: {exc}", file=sys.stderr)
    # When handle() returns, socketserver flushes the reply and closes the
    # socket: the client reads the line, then EOF.


class UpperServer(socketserver.TCPServer):
    # Without SO_REUSEADDR a restarted server cannot bind the port while old
    # connections linger in TIME_WAIT (up to a minute).
    allow_reuse_address = True
    request_queue_size = 64  # the listen() backlog (the default, 5, is small)


def main():
    if len(sys.argv) != 3:
        print("usage: socketserver_upper_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    with UpperServer((host, port), UpperHandler) as server:
        print(f"upper server listening on {host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
