"""Every probe family, imported for its registrations, and the lab suites built on them.

Importing this module fills :data:`grader.probes.registry.REGISTRY`: the
assignment loader imports it, and so does anything that lists probes.  A new
family is one module under ``grader/probes/`` and one line here.
"""

from __future__ import annotations

from grader.probes import (  # noqa: F401  (imported for their registrations)
    caesar,
    chat,
    chat_client,
    concurrency,
    echo_client,
    file_transfer,
    framing,
    ftp,
    http_server,
    labs,
    port_scanner,
    stream,
    tls_echo,
    udp_client,
    udp_echo,
    upload_client,
    upper,
)
from grader.probes.registry import REGISTRY

__all__ = ["REGISTRY"]
