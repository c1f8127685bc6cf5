"""Grading a class: many submissions into one gradebook.

Theory of operation: :mod:`~grader.classroom.exports` finds one submission
per student in a folder (GitHub Classroom, Moodle and Gradescope exports
included), :mod:`~grader.classroom.staging` copies each into a private
folder, :mod:`~grader.classroom.batch` grades them in parallel with the
single-submission runner, and :mod:`~grader.classroom.gradebook` writes the
gradebook, the class JUnit file and the summary, sharded and merged when a
class is split across machines.  This package sits on top of the runner and
the reports; nothing below it imports it.
"""
