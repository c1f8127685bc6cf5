"""Known bug (docs/labs.md §11): the '..' check is made before percent-decoding.

'/../secret' gets 403, but '/%2e%2e/secret' passes the check and is decoded
to '../secret' afterwards.
Must fail: security/encoded-dot-segments.
"""
import os
from urllib.parse import unquote

import _student


def find_file(target):
    path = target.split("?")[0]
    if ".." in path:
        return None
    path = unquote(path)
    if "\0" in path:
        return None
    full = os.path.join(_student.ROOT, path.lstrip("/"))
    return full if os.path.isfile(full) else None


_student.find_file = find_file
_student.main()
