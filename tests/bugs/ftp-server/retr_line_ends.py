"""Bug: RETR always sends the file as text, '\\n' turned into '\\r\\n' (TYPE I ignored).

Fails transfer/retr (binary bytes change); the probes that depend on it
are skipped.
"""
from _ftp import Session, run


class TextSession(Session):
    def file_chunks(self, handle):
        return (chunk.replace(b"\n", b"\r\n") for chunk in iter(lambda: handle.read(65536), b""))


run(TextSession)
