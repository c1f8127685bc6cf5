"""Known bug: never closes a connection after a successful upload (keeps every socket).

Must fail: shutdown/closes-after-reply (no FIN) and resources/no-fd-leak.
"""
import _upload
from _upload import run

kept = []


def handle(conn):
    try:
        raw, size = _upload.read_header(conn)
        path = _upload.check_name(raw)
        _upload.receive(conn, size, path)
        conn.sendall(b"OK\n")
        kept.append(conn)  # the bug: the socket is kept open forever
        return
    except _upload.Refused as why:
        conn.sendall(f"ERR {why}\n".encode())
    except (OSError, _upload.CutShort, ValueError):
        pass
    conn.close()


run(handle)
