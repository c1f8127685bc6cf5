"""Known bug (docs/labs.md §11): HEAD answered like GET, body included.

Must fail: get/head.
"""
import _student


def send_file(conn, method, path):
    body = _student.read_file(path)
    headers = {"Content-Type": _student.content_type(path), "Content-Length": len(body)}
    conn.sendall(_student.head_bytes(200, headers) + body)


_student.send_file = send_file
_student.main()
