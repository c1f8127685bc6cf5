"""Known bug (docs/labs.md §10): path traversal - the name is joined to the folder unchecked.

'../x' is written beside the folder, an absolute name wherever it points,
'./x' inside.  (The grader's names all point inside its own temporary tree.)
Must fail: security/traversal and security/separators.
"""
import os

import _upload
from _upload import run

_upload.check_name = lambda raw: os.path.join(_upload.FOLDER, raw.decode("utf-8"))
run()
