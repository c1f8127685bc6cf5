"""Known bug: leaves are never announced.

The member is removed and closed, but nobody is told: leave/notice and
robustness/member-reset fail, and so does robustness/leave-during-broadcast
(which expects the leaver's notice).
"""
from _chat import ChatServer


class Server(ChatServer):
    def leave(self, member):
        with self.lock:
            self.members.pop(member.conn, None)
        member.outgoing.put(None)
        member.conn.close()


Server().run()
