"""Known bug (docs/labs.md §11): the path is not percent-decoded.

'/a%20b.txt' looks for a file named 'a%20b.txt': 404.  (Safe, but a
browser asks for every name with a space that way.)
Must fail: request/percent-encoded-name.
"""
import os

import _student


def find_file(target):
    path = target.split("?")[0]
    full = os.path.realpath(os.path.join(_student.ROOT, path.lstrip("/")))
    if not full.startswith(_student.ROOT + os.sep) or not os.path.isfile(full):
        return None
    return full


_student.find_file = find_file
_student.main()
