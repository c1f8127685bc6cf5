"""Known bug: refuses names that leave the folder, but accepts names with separators.

It checks that the resolved path stays inside the folder, so 'sub/x' and
'./x' pass the check ('./x' is stored as 'x') although docs/labs.md §10 says
names with separators are refused.
Must fail: security/separators only.
"""
import os

import _upload
from _upload import Refused, run


def check_name(raw):
    folder = os.path.realpath(_upload.FOLDER)
    path = os.path.realpath(os.path.join(folder, raw.decode("utf-8")))
    if path == folder or os.path.commonpath([folder, path]) != folder:
        raise Refused("the name leaves the folder")
    return path


_upload.check_name = check_name
run()
