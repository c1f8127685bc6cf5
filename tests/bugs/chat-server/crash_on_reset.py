"""Known bug (docs/labs.md §7): crash on reset.

The member's thread does not catch ConnectionResetError: it dies with a
traceback, and the member is never removed nor announced as gone.
robustness/member-reset fails (no leave notice), and only it.
"""
from _chat import ChatServer


class Server(ChatServer):
    def serve(self, conn):
        from _chat import PROMPT, Member

        member = Member(conn)
        member.send(PROMPT)
        self.talk(member)  # ConnectionResetError escapes: the thread dies here
        self.leave(member)


Server().run()
