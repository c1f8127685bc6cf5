"""Known bug (docs/labs.md §11): the file is opened in text mode.

open(path) decodes the file as UTF-8: a binary file raises
UnicodeDecodeError and the handler dies without a response.
Must fail: get/binary-file.
"""
import _student


def read_file(path):
    with open(path) as f:
        return f.read().encode()


_student.read_file = read_file
_student.main()
