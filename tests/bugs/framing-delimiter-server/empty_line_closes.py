"""Known bug (docs/labs.md §9, delimiter): an empty line taken as the end of the conversation.

Lines are read correctly (a file object's readline()), but the loop stops
on an empty line after stripping it, so an empty message closes the
connection instead of being echoed.
Fails: framing/zero-length, and partial/large-payload, partial/backpressure
(their random bulk lines include empty ones).
"""
from _common import serve


def handle(conn):
    with conn, conn.makefile("rb") as lines:
        for raw in lines:
            if not raw.endswith(b"\n"):  # an unfinished last line at EOF: drop it
                break
            if not raw.strip(b"\r\n"):  # the bug: b"\n" is an empty message, not EOF
                break
            conn.sendall(raw)


serve(handle)
