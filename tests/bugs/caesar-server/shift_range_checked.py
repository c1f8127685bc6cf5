"""Known bug (docs/labs.md §8): shifts outside 1-25 are refused instead of taken mod 26.

Answers ERR. to shifts 00, 26 and 99, which are all valid.
Must fail: shift/00, shift/26, shift/99.
"""
import _caesar
from _caesar import run

correct = _caesar.answer


def answer(request):
    digits = request[1:3]
    if digits.isdigit() and not 1 <= int(digits) <= 25:
        return b"ERR."
    return correct(request)


_caesar.answer = answer
run()
