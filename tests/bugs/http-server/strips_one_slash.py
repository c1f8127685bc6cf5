"""Known bug (docs/labs.md §11): os.path.join with an absolute path.

The leading '/' is cut with path[1:], so '//tmp/x/secret' leaves
'/tmp/x/secret', and os.path.join(ROOT, '/tmp/x/secret') is '/tmp/x/secret'.
'..' is refused after decoding, so the dot segments are safe.
Must fail: security/absolute-path.
"""
import os
from urllib.parse import unquote

import _student


def find_file(target):
    path = unquote(target.split("?")[0])
    if ".." in path or "\0" in path:
        return None
    full = os.path.join(_student.ROOT, path[1:])
    return full if os.path.isfile(full) else None


_student.find_file = find_file
_student.main()
