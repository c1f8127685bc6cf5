"""Known bug (docs/labs.md §11): a malformed request crashes the handler.

'method, target, version = line.split()' raises ValueError on a line that
is not three words, and a header line without ':' does the same; nothing
catches it, so the thread dies and the client gets no response (no 400).
Must fail: errors/bad-request-line, errors/bad-header.
"""
import _student


def handle(conn, head):
    method, target, version, headers = _student.parse(head)  # ValueError escapes
    if method not in ("GET", "HEAD"):
        _student.send_response(conn, 405, b"method not allowed\n", extra={"Allow": "GET, HEAD"})
        return True
    path = _student.find_file(target)
    if path is None:
        _student.send_response(conn, 404, b"not found\n", method)
    else:
        _student.send_file(conn, method, path)
    return headers.get("connection", "").lower() != "close"


_student.handle = handle
_student.main()
