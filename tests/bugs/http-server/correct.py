"""Not a bug: the student server of this folder as it stands passes every probe.

Must fail: nothing (the baseline the other bugs change one function of).
"""
import _student

_student.main()
