"""Known bug: reads its arguments in the wrong order (FOLDER HOST PORT).

int() of the host crashes the program at start.
Must fail: startup/listens, so every other probe is skipped.
"""
import sys

folder, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
