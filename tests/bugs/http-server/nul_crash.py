"""Known bug (docs/labs.md §11): an encoded NUL crashes the handler.

The path is decoded and resolved safely, but a NUL byte is not checked:
os.path.realpath raises ValueError ('embedded null byte'), which is not an
OSError, so the handler thread dies and the client gets no response.
Must fail: security/encoded-nul.
"""
import os
from urllib.parse import unquote

import _student


def find_file(target):
    path = unquote(target.split("?")[0])
    full = os.path.realpath(os.path.join(_student.ROOT, path.lstrip("/")))
    if not full.startswith(_student.ROOT + os.sep) or not os.path.isfile(full):
        return None
    return full


_student.find_file = find_file
_student.main()
