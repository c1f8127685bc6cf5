"""Bug: one client at a time (no thread per client).

A second client is greeted only when the first leaves.  Fails
concurrency/two-sessions.
"""
from _ftp import run

run(threaded=False)
