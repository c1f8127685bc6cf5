"""Known bug (docs/labs.md §1, in a §11 server): finished connections are never closed.

Every connection is kept in a list (for a 'clients online' count) and
nothing removes it or closes it when the client leaves: each client leaves
a descriptor behind.
Must fail: resources/no-fd-leak.
"""
import _student

CLIENTS = []


def serve(conn):
    CLIENTS.append(conn)
    buf = bytearray()
    try:
        while True:
            head = _student.read_request(conn, buf)
            if head is None or not _student.handle(conn, head):
                return  # forgot conn.close(), and the list keeps the socket alive
    except OSError as e:
        print("client error:", e)


_student.serve = serve
_student.main()
