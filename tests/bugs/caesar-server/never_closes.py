"""Known bug: never closes a connection after replying (keeps every socket).

Must fail: shutdown/closes-after-reply (no FIN) and resources/no-fd-leak.
"""
from _caesar import answer, read_request, run

kept = []


def handle(conn):
    kept.append(conn)
    try:
        request = read_request(conn)
        if request is not None:
            conn.sendall(answer(request))
    except OSError:
        pass


run(handle)
