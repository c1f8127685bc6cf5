"""Reference poll() TCP echo server (lab 3 of the sockgrade lab catalogue).

Usage: python echo_poll_server.py HOST PORT

The lab 1 echo contract (every byte back, in order, until the client ends
its side; then finish sending and close), served to many clients at once by
ONE thread with poll().  poll() watches file descriptors (numbers), so the
server keeps a table from descriptor to client.  The rules that make it work:

* Every socket is non-blocking, so no recv() or send() can stall the loop.
* Each client has its own output queue; send() may send only part of it,
  so exactly the bytes it reports sent are removed (the rest stay queued).
* A descriptor asks for POLLOUT only while its queue is non-empty (asking
  for POLLOUT with nothing to write makes poll() return at once, forever).
* A client that sends faster than it reads is not read any more while more
  than MAX_QUEUED bytes wait for it (backpressure).
* When recv() returns b'' the client has ended its side: stop reading it,
  send what is still queued, then close.  A descriptor closed while handling
  one event is unregistered and forgotten at once; later events of the same
  poll() call for it are skipped.

Unlike select(), poll() has no limit of 1024 on descriptor numbers.
Standard library only.
"""

import contextlib
import select
import socket
import sys

MAX_QUEUED = 1024 * 1024  # bytes queued for one client before we stop reading it
ERRORS = select.POLLERR | select.POLLHUP | select.POLLNVAL


class Client:
    """One connection: its socket, the bytes still owed to it, whether it still sends."""

    def __init__(self, sock, address):
        self.sock = sock
        self.address = address
        self.outgoing = bytearray()  # echo bytes not yet sent, in order
        self.reading = True  # False once the client has half-closed (recv returned b'')

    def mask(self):
        """The events to wait for: input while we still read it, output while some is owed."""
        events = 0
        if self.reading and len(self.outgoing) < MAX_QUEUED:
            events |= select.POLLIN
        if self.outgoing:
            events |= select.POLLOUT
        return events


class Server:
    """The listening socket, the poll object and the descriptor -> client table."""

    def __init__(self, host, port):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.poller = select.poll()
        self.poller.register(self.listener, select.POLLIN)
        self.clients = {}  # file descriptor -> Client

    def run(self):
        """Wait for events and handle them, forever."""
        while True:
            for fd, events in self.poller.poll():
                if fd == self.listener.fileno():
                    self.accept_all()
                    continue
                client = self.clients.get(fd)
                if client is None:
                    continue  # closed while handling an earlier event of this batch
                if events & (select.POLLIN | ERRORS) and client.reading:
                    self.read(fd, client)
                elif events & ERRORS and not events & select.POLLOUT:
                    self.drop(fd, client)  # gone while we only had output for it
                    continue
                if fd in self.clients and events & select.POLLOUT:
                    self.write(fd, client)
                if fd in self.clients:
                    self.update(fd, client)

    def accept_all(self):
        """Accept every connection waiting in the backlog; each becomes non-blocking."""
        while True:
            try:
                conn, address = self.listener.accept()
            except BlockingIOError:
                return  # the backlog is empty
            except OSError as exc:  # e.g. too many open files
                print(f"accept: {exc}", file=sys.stderr)
                return
            conn.setblocking(False)
            client = Client(conn, address)
            self.clients[conn.fileno()] = client
            self.poller.register(conn, client.mask())

    def read(self, fd, client):
        """Move what the client sent into its output queue; note its half-close."""
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:  # ConnectionResetError: the client aborted
            print(f"client {client.address}: {exc}", file=sys.stderr)
            self.drop(fd, client)
            return
        if data:
            client.outgoing += data
        else:
            client.reading = False  # half-close: finish sending, then close
            if not client.outgoing:
                self.drop(fd, client)

    def write(self, fd, client):
        """Send as much of the client's queue as the socket takes; keep the rest."""
        try:
            sent = client.sock.send(client.outgoing)  # may send only part of it
        except BlockingIOError:
            return
        except OSError as exc:  # BrokenPipeError / ConnectionResetError
            print(f"client {client.address}: {exc}", file=sys.stderr)
            self.drop(fd, client)
            return
        del client.outgoing[:sent]
        if not client.outgoing and not client.reading:
            self.drop(fd, client)

    def update(self, fd, client):
        """Tell poll() what this client waits for now."""
        self.poller.modify(fd, client.mask())

    def drop(self, fd, client):
        """Unregister, forget and close a client (unregister first: the fd is still valid)."""
        self.poller.unregister(fd)
        del self.clients[fd]
        client.sock.close()


def main():
    if len(sys.argv) != 3:
        print("usage: echo_poll_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    server = Server(host, port)
    print(f"poll echo server listening on {host}:{port}", flush=True)
    server.run()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
