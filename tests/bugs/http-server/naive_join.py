"""Known bug (docs/labs.md §11): path traversal: the request path is joined to the folder
without any check.

'/../secret' and '/%2e%2e/secret' (decoded) both reach the file beside the
folder.  The join drops the leading slashes, so an absolute path stays inside.
Must fail: security/dot-segments, security/encoded-dot-segments.
"""
import os
from urllib.parse import unquote

import _student


def find_file(target):
    path = unquote(target.split("?")[0])
    if "\0" in path:
        return None
    full = os.path.join(_student.ROOT, path.lstrip("/"))
    return full if os.path.isfile(full) else None


_student.find_file = find_file
_student.main()
