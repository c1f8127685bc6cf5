"""Known bug (docs/labs.md §11): closes a keep-alive connection without saying so.

Each response has a correct Content-Length, but the server closes the
connection after it without 'Connection: close': an HTTP/1.1 client sends
its next request on that connection and gets nothing.
Must fail: persistence/keep-alive, persistence/pipelining.
"""
import _student


def handle(conn, head):
    _original(conn, head)
    return False


_original = _student.handle
_student.handle = handle
_student.main()
