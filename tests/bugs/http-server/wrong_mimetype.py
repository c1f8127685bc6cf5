"""Known bug (docs/labs.md §11): a hand-made media-type table.

Only the extensions the student thought of are known; everything else is
sent as text/plain (a PNG, JSON, PDF...).
Must fail: headers/content-type.
"""
import _student

TYPES = {".html": "text/html", ".htm": "text/html", ".css": "text/css", ".txt": "text/plain",
         ".jpg": "image/jpeg"}


def content_type(path):
    for ext, kind in TYPES.items():
        if path.endswith(ext):
            return kind
    return "text/plain"


_student.content_type = content_type
_student.main()
