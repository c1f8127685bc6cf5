"""Probe suites.  Importing this package registers every probe in :data:`REGISTRY`.

Theory of operation: each module registers the probes of one suite (one kind
of program) with the decorator from :mod:`grader.probes.registry`.  Adding a
probe touches one file; adding a suite adds one module and one import here.
"""

from grader.probes.registry import REGISTRY, ProbeSpec

__all__ = ["REGISTRY", "ProbeSpec", "load_all"]


def load_all() -> None:
    """Import every suite module so its probes are registered (idempotent)."""
    from grader.probes import (  # noqa: F401  # noqa: F401  # noqa: F401
        caesar,
        chat,
        concurrency,
        echo_client,
        file_transfer,
        framing,
        stream,
        udp_echo,
        upper,
    )
