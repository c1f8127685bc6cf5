"""Known bug (docs/labs.md §8): decrypt shifts right like encrypt (OP is ignored).

Must fail: cipher/decrypt, cipher/round-trip, shift/99 (d99 must move left
by 21) and cipher/non-letters (its decrypt half).  Shifts 00 and 26 cannot
tell the directions apart.
"""
import _caesar
from _caesar import run

correct = _caesar.cipher
_caesar.cipher = lambda op, shift, text: correct(b"e", shift, text)
run()
