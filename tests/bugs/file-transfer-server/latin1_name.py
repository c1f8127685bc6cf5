"""Known bug: the file name is decoded as Latin-1 instead of UTF-8.

'café' arrives as b'caf\\xc3\\xa9' and is stored as 'cafÃ©'.
Must fail: upload/non-ascii-name.
"""
import _upload
from _upload import run

correct = _upload.check_name
_upload.check_name = lambda raw: correct(raw.decode("latin-1").encode("utf-8"))
run()
