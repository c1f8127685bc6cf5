"""Known bug (docs/labs.md §11): a 404 without a body.

The status line is right, but nothing tells a person in a browser what
went wrong: 'Content-Length: 0' and no body.
Must fail: errors/not-found.
"""
import _student


def send_response(conn, status, body, method="GET", ctype="text/plain", extra=None):
    if status == 404:
        body = b""
    _original(conn, status, body, method, ctype, extra)


_original = _student.send_response
_student.send_response = send_response
_student.main()
