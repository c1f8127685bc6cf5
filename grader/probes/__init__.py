"""Probes: the conformance checks, grouped into families and lab suites.

Theory of operation: each module registers the probes of one family (one
kind of conversation) with the decorator from :mod:`grader.probes.registry`;
:mod:`grader.probes.labs` says which of them each lab runs, and importing
:mod:`grader.probes.families` registers them all.  Adding a probe touches one
file; adding a family adds one module and one import in ``families.py``.
Teachers' own probes come from a file next to an assignment
(:mod:`grader.probes.course`).
"""

from grader.probes.registry import REGISTRY, LabSuite, Param, ProbeSpec

__all__ = ["REGISTRY", "LabSuite", "Param", "ProbeSpec"]
