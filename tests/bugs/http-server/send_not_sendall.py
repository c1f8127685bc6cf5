"""Known bug (docs/labs.md §11): send() instead of sendall() for the file.

The client socket has a timeout (to drop idle clients), so send() sends
what fits in the socket's buffer and returns; a 20 MiB file never fits, and
the rest is lost.
Must fail: large/slow-reader.
"""
import _student


def send_file(conn, method, path):
    conn.settimeout(30)
    body = _student.read_file(path)
    headers = {"Content-Type": _student.content_type(path), "Content-Length": len(body)}
    conn.sendall(_student.head_bytes(200, headers))
    if method != "HEAD":
        conn.send(body)


_student.send_file = send_file
_student.main()
