"""Known bug (docs/labs.md §11): no Content-Length; the body ends when the server closes.

HTTP/1.0 habits: the response has no Content-Length and the server closes
the connection after each one, so a client learns the body's end only from
the close.  h11 reads such responses (the connection is not reusable), so
only the probe about the header fails.
Must fail: headers/content-length.
"""
import _student


def send_response(conn, status, body, method="GET", ctype="text/plain", extra=None):
    headers = {"Content-Type": ctype, **(extra or {})}
    conn.sendall(_student.head_bytes(status, headers) + (b"" if method == "HEAD" else body))


def handle(conn, head):
    _original(conn, head)
    return False  # one request per connection: the close ends the body


_original = _student.handle
_student.send_response = send_response
_student.handle = handle
_student.main()
