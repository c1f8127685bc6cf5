"""Known bug (docs/labs.md §7): a blocking send to one stalled member freezes the room.

The broadcast calls sendall() on each member in turn from the sender's
thread.  A member that never reads fills its socket buffers; sendall() to it
then blocks until that member reads, and every line after that stops for
everyone: robustness/non-reader fails, and only it (the table is copied under
a lock before sending, and each member's socket has one writer at a time, so
a member leaving meanwhile does no harm once the slow reader catches up).
"""
from _chat import ChatServer


class Server(ChatServer):
    def broadcast(self, text, exclude):
        data = (text + "\n").encode()
        with self.lock:
            others = [m for m in self.members.values() if m is not exclude]
        for other in others:
            with other.send_lock:
                try:
                    other.conn.sendall(data)  # blocks while that member does not read
                except OSError:
                    pass


Server().run()
