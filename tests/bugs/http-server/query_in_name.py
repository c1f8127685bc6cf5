"""Known bug (docs/labs.md §11): the query string is taken as part of the file name.

'/notes.txt?download=1' looks for a file named 'notes.txt?download=1': 404.
Must fail: request/query-ignored.
"""
import os
from urllib.parse import unquote

import _student


def find_file(target):
    path = unquote(target)
    if "\0" in path:
        return None
    full = os.path.realpath(os.path.join(_student.ROOT, path.lstrip("/")))
    if not full.startswith(_student.ROOT + os.sep) or not os.path.isfile(full):
        return None
    return full


_student.find_file = find_file
_student.main()
