"""Known bug (docs/labs.md §6 ("replies to the last sender"), in the UDP variant of §5).

With ThreadingMixIn each datagram is handled in its own thread; this handler
stores the client address on the shared server object, "processes" the
request for 0.2 s, then replies to the address stored there - by then the
last sender's.  One client at a time is served right; when five clients
send at once every reply goes to the last one: robustness/many-clients
fails, and only it.  (The 0.2 s of processing makes the race certain.)
"""
import socketserver
import time

from _udp_upper import ThreadingServer, run


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        self.server.client = self.client_address
        time.sleep(0.2)  # the processing
        sock.sendto(data.strip().upper(), self.server.client)


run(Handler, server_class=ThreadingServer)
