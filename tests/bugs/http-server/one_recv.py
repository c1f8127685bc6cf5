"""Known bug (docs/labs.md §11): a request read with one recv().

Whatever one recv() returns is taken as one whole request: a request that
arrives a byte at a time is cut ('G' is not a request line: 400), and of
several requests in one segment (pipelining) only the first is answered.
Must fail: partial/one-byte-request, persistence/pipelining.
"""
import _student


def read_request(conn, buf):
    data = conn.recv(4096)
    if not data:
        return None
    return data.split(b"\r\n\r\n")[0]


_student.read_request = read_request
_student.main()
