"""Known bug (docs/labs.md §6): replies go to the last sender.

Each datagram is echoed by its own thread after 0.2 s of "processing", to
the address in a global that the receive loop overwrites with every
datagram.  One client at a time is served right (also in a burst: it is
the only sender); when five clients send at once every reply goes to the
last one: robustness/many-clients fails, and only it.  (The 0.2 s makes the
race certain.)
"""
import threading
import time

from _udp import run

last_address = None


def reply(sock, data):
    time.sleep(0.2)  # the processing
    sock.sendto(data, last_address)


def serve(sock):
    global last_address
    while True:
        data, last_address = sock.recvfrom(65535)
        threading.Thread(target=reply, args=(sock, data), daemon=True).start()


run(serve)
