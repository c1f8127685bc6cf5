"""Known bug (docs/labs.md §7): one recv taken as one line.

Whatever a recv() returns is treated as one line: a line split across
segments is relayed in pieces, several lines in one segment are relayed as
one "line" with newlines inside.  partial/split-line, partial/coalesced and
every probe that writes lines in bulk (message/order-20 and the two
non-reader probes) fail.
"""
from _chat import ChatServer


class Server(ChatServer):
    def lines(self, conn):
        while True:
            data = conn.recv(1024)
            if not data:
                return
            yield data.decode("utf-8", "replace").rstrip("\n")


Server().run()
