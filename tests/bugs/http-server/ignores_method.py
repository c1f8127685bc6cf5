"""Known bug (docs/labs.md §11): every method is served like GET.

The method is parsed and never looked at: POST and DELETE get 200 and the file.
Must fail: errors/method-not-allowed.
"""
import _student


def handle(conn, head):
    try:
        method, target, version, headers = _student.parse(head)
    except ValueError:
        _student.send_response(conn, 400, b"bad request\n", extra={"Connection": "close"})
        return False
    path = _student.find_file(target)
    if path is None:
        _student.send_response(conn, 404, b"not found\n", method)
    else:
        _student.send_file(conn, method, path)
    return headers.get("connection", "").lower() != "close"


_student.handle = handle
_student.main()
