"""Reference select() TCP echo server (lab 3 of the sockgrade lab catalogue).

Usage: python echo_select_server.py HOST PORT

The lab 1 echo contract (every byte back, in order, until the client ends
its side; then finish sending and close), served to many clients at once by
ONE thread with select().  The rules that make that work:

* Every socket is non-blocking, so no recv() or send() can stall the loop.
* Each client has its own output queue.  recv() appends to it; send() takes
  from its front and may send only part, so exactly the bytes it reports
  sent are removed (the rest stay queued).
* A socket is watched for writing only while its queue is non-empty (a
  writable socket with nothing to write makes select() return at once,
  forever: a busy loop).
* A client that sends faster than it reads is not read any more while more
  than MAX_QUEUED bytes wait for it (backpressure), so it cannot fill memory.
* When recv() returns b'' the client has ended its side: stop reading it,
  send what is still queued, then close.  A socket closed in the read phase
  is forgotten at once, and the write phase skips it.

select() cannot watch file descriptors numbered 1024 or higher (FD_SETSIZE),
so this server handles about a thousand clients; selectors/epoll or poll()
have no such limit.  Standard library only.
"""

import contextlib
import select
import socket
import sys

MAX_QUEUED = 1024 * 1024  # bytes queued for one client before we stop reading it


class Client:
    """One connection: its socket, the bytes still owed to it, whether it still sends."""

    def __init__(self, sock, address):
        self.sock = sock
        self.address = address
        self.outgoing = bytearray()  # echo bytes not yet sent, in order
        self.reading = True  # False once the client has half-closed (recv returned b'')


def main():
    if len(sys.argv) != 3:
        print("usage: echo_select_server.py HOST PORT", file=sys.stderr)
        sys.exit(2)
    host, port = sys.argv[1], int(sys.argv[2])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(128)
    server.setblocking(False)
    print(f"select echo server listening on {host}:{port}", flush=True)
    clients = {}  # socket -> Client

    def drop(client):
        """Forget a client and close its socket (FIN, or RST if it is already gone)."""
        del clients[client.sock]
        client.sock.close()

    while True:
        readers = [server] + [c.sock for c in clients.values()
                              if c.reading and len(c.outgoing) < MAX_QUEUED]
        writers = [c.sock for c in clients.values() if c.outgoing]
        readable, writable, _ = select.select(readers, writers, [])

        for sock in readable:
            if sock is server:
                accept_all(server, clients)
                continue
            client = clients[sock]
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue  # nothing to read after all
            except OSError as exc:  # ConnectionResetError: the client aborted
                print(f"client {client.address}: {exc}", file=sys.stderr)
                drop(client)
                continue
            if data:
                client.outgoing += data
            else:
                client.reading = False  # half-close: finish sending, then close
                if not client.outgoing:
                    drop(client)

        for sock in writable:
            client = clients.get(sock)
            if client is None:
                continue  # closed in the read phase above: never touch it again
            try:
                sent = sock.send(client.outgoing)  # may send only part of it
            except BlockingIOError:
                continue
            except OSError as exc:  # BrokenPipeError / ConnectionResetError
                print(f"client {client.address}: {exc}", file=sys.stderr)
                drop(client)
                continue
            del client.outgoing[:sent]  # keep what was not sent, in order
            if not client.outgoing and not client.reading:
                drop(client)


def accept_all(server, clients):
    """Accept every connection waiting in the backlog; each socket becomes non-blocking."""
    while True:
        try:
            conn, address = server.accept()
        except BlockingIOError:
            return  # the backlog is empty
        except OSError as exc:  # e.g. too many open files: try again on the next round
            print(f"accept: {exc}", file=sys.stderr)
            return
        conn.setblocking(False)
        clients[conn] = Client(conn, address)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the server quietly
        main()
