"""Known bug: the strings are not the handout's (English instead of Indonesian).

The prompt differs, so join/welcome fails and every probe that needs a
member to join is skipped.  (The same program passes against an assignment
file that lists these strings: see test_lab_chat.py.)
"""
import _chat

_chat.PROMPT = "Enter username: "
_chat.WELCOME = "Welcome to the chat server!"
_chat.JOIN = "{name} joined the chat"
_chat.LEAVE = "{name} left the chat"

_chat.ChatServer().run()
