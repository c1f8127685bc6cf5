"""Bug: the arguments are read as ROOT HOST PORT instead of HOST PORT ROOT.

int() of the folder's path raises ValueError at start.  Fails
startup/listens; everything else is skipped.
"""
import sys

sys.argv[1:4] = [sys.argv[2], sys.argv[3], sys.argv[1]]  # the student's order: ROOT HOST PORT

from _ftp import run  # noqa: E402

run()
