"""Known bug: replies 'OK' without the newline that ends the reply line.

Must fail: upload/text-file (the reply line never ends), so every probe
that depends on it is skipped.
"""
import _upload
from _upload import run


def serve(conn):
    raw, size = _upload.read_header(conn)
    _upload.receive(conn, size, _upload.check_name(raw))
    conn.sendall(b"OK")


_upload.serve = serve
run()
