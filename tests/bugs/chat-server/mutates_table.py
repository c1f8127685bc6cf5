"""Known bug (docs/labs.md §7): broadcasting while the client table is being changed.

The broadcast loops over the live members dict (no copy, no lock) and sends
with blocking sendall(); a member that leaves is deleted from the dict by
its own thread.  If a member leaves while a broadcast is in progress, the
broadcasting thread dies with "RuntimeError: dictionary changed size during
iteration" and its member's lines stop for good.  The race is made certain
by a slow reader holding the broadcast in sendall() while a member leaves:
robustness/leave-during-broadcast fails, and so does robustness/non-reader
(the blocking send).
"""
from _chat import LEAVE, ChatServer


class Server(ChatServer):
    def broadcast(self, text, exclude):
        data = (text + "\n").encode()
        for conn, member in self.members.items():  # the live dict
            if member is not exclude:
                try:
                    conn.sendall(data)
                except OSError:
                    pass

    def leave(self, member):
        known = self.members.pop(member.conn, None)  # changes the dict under a broadcast
        member.outgoing.put(None)
        member.conn.close()
        if known is not None:
            self.broadcast(LEAVE.format(name=member.name), exclude=member)


Server().run()
