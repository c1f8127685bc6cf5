"""Known bug (docs/labs.md §11): no empty line between the headers and the body.

The body follows the last header line directly, so h11 (like any client)
reads the body as more header lines and the response head never ends.
Nothing else can be judged.
Must fail: get/text-file (everything after it is skipped).
"""
import _student


def head_bytes(status, headers):
    lines = [f"HTTP/1.1 {status} {_student.MESSAGES[status]}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode()


_student.head_bytes = head_bytes
_student.main()
