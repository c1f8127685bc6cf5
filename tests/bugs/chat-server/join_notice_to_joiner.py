"""Known bug: the join notice is broadcast to everyone, the joiner included.

The joiner gets its welcome and then its own "<name> telah bergabung ke
chat": join/notice fails, and only it.
"""
from _chat import JOIN, WELCOME, ChatServer


class Server(ChatServer):
    def join(self, member):
        with self.lock:
            self.members[member.conn] = member
        member.send(WELCOME + "\n")
        self.broadcast(JOIN.format(name=member.name), exclude=None)


Server().run()
