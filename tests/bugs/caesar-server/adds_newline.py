"""Known bug: the reply ends with '.\\n' instead of '.'.

Must fail: shutdown/closes-after-reply (one byte more after the reply).
"""
import _caesar
from _caesar import run

correct = _caesar.answer
_caesar.answer = lambda request: correct(request) + b"\n"
run()
