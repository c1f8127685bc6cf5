"""Known bug: a member's lines are broadcast to everyone, the sender included.

message/not-to-sender fails, and only it (the other probes do not look at
what a member gets back of its own lines).
"""
from _chat import MESSAGE, ChatServer


class Server(ChatServer):
    def say(self, member, line):
        self.broadcast(MESSAGE.format(name=member.name, line=line), exclude=None)


Server().run()
