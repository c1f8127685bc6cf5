"""Known bug: the output file is opened lazily, on the first chunk of content.

An empty upload has no chunk, so no file is created, yet the reply is OK.
Must fail: upload/empty-file.
"""
import os

import _upload
from _upload import run


def receive(conn, size, path):
    temporary, out, remaining = path + ".part", None, size
    try:
        while remaining:
            chunk = conn.recv(min(remaining, 65536))
            if not chunk:
                raise _upload.CutShort()
            if out is None:
                out = open(temporary, "wb")
            out.write(chunk)
            remaining -= len(chunk)
    except BaseException:
        if out is not None:
            out.close()
            os.unlink(temporary)
        raise
    if out is not None:
        out.close()
        os.replace(temporary, path)


_upload.receive = receive
run()
