"""Report writers: pure functions from grade results to a format.

Theory of operation: :mod:`~grader.report.console` renders for people,
:mod:`~grader.report.junit` for CI systems (validated against junit-10.xsd
in the tests), :mod:`~grader.report.jsonreport` for programs.  Each writer
takes finished :class:`grader.runner.GradeResult` objects and never runs
probes or touches the submission.
"""
