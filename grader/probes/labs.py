"""The lab suites: which probes of which family each lab of the catalogue runs.

Theory of operation: a family (``stream-echo``, ``caesar``, ...) holds every
probe of one kind of conversation; a lab runs a view of it
(:class:`~grader.probes.registry.LabSuite`) chosen by category globs, so a
probe added to a family joins every lab whose globs match it, with no edit
to an assignment file.  The stream-echo family serves nine labs (docs/labs.md
§1-§4 and §9): they share its core categories and differ in the concurrency
and process probes they add and in the framing probes that apply to their
framing.  An assignment file names a lab suite here (``suite =
"echo-select-server"``) or, for a course of its own, a whole family.
"""

from __future__ import annotations

from grader.probes.registry import REGISTRY, LabSuite
from grader.verdict import Tier

#: What every stream-echo lab runs: a lab 1 echo server's whole contract.
_STREAM_CORE = ("startup/*", "echo/*", "partial/*", "shutdown/*", "robustness/*",
                "resources/*", "concurrency/second-client")
#: The framing labs: the framing probes right after the echo ones.
_FRAMED = ("startup/*", "echo/*", "framing/*", *_STREAM_CORE[2:])
#: Labs 2-4 add every concurrency probe and make a silent client's neighbour required.
_CONCURRENT = (*_STREAM_CORE, "concurrency/*")
_REQUIRED_SECOND = {"concurrency/second-client": Tier.REQUIRED}
#: The reset-mid-request probes need a request boundary the framing labs do not share yet.
_NO_RESET_MOMENTS = ("robustness/reset-before-reply", "robustness/reset-during-reply")


def _define() -> None:
    stream = "stream-echo"
    labs = [
        LabSuite(name="tcp-echo-server", family=stream, include=_STREAM_CORE),
        LabSuite(name="echo-threaded-server", family=stream,
                 include=(*_CONCURRENT, "process/threads-freed"), tiers=_REQUIRED_SECOND),
        LabSuite(name="echo-select-server", family=stream,
                 include=(*_CONCURRENT, "process/single-threaded"), tiers=_REQUIRED_SECOND),
        LabSuite(name="echo-poll-server", family=stream,
                 include=(*_CONCURRENT, "process/single-threaded"), tiers=_REQUIRED_SECOND),
        LabSuite(name="echo-threadpool-server", family=stream,
                 include=(*_CONCURRENT, "process/bounded-threads"), tiers=_REQUIRED_SECOND),
        LabSuite(name="framing-length-prefix-server", family=stream,
                 include=_FRAMED,
                 exclude=(*_NO_RESET_MOMENTS, "framing/reply-after-half-close"),
                 protocol={"framing": "length-prefix"}),
        LabSuite(name="framing-delimiter-server", family=stream,
                 include=_FRAMED,
                 exclude=(*_NO_RESET_MOMENTS, "framing/huge-length-header",
                          "framing/reply-after-half-close"),
                 protocol={"framing": "delimiter"}),
        LabSuite(name="framing-fixed-server", family=stream,
                 include=_FRAMED,
                 exclude=(*_NO_RESET_MOMENTS, "partial/large-payload", "partial/backpressure",
                          "framing/zero-length", "framing/one-mib-frame",
                          "framing/huge-length-header", "framing/reply-after-half-close"),
                 protocol={"framing": "fixed"}),
        LabSuite(name="framing-close-server", family=stream,
                 include=_FRAMED,
                 exclude=(*_NO_RESET_MOMENTS, "echo/many-messages", "framing/split-header",
                          "framing/coalesced-frames", "framing/huge-length-header",
                          "framing/truncated-frame"),
                 protocol={"framing": "close"}),
        LabSuite(name="tls-echo-server", family="tls-echo",
                 include=("startup/*", "tls/handshake", "echo/*", "partial/*", "shutdown/*",
                          "tls/*", "robustness/*", "resources/*", "concurrency/second-client"),
                 protocol={"transport": "tls"}),
        LabSuite(name="socketserver-upper-server", family="upper-line", include=("*",),
                 exclude=("concurrency/*",)),
        LabSuite(name="socketserver-upper-threading-server", family="upper-line",
                 include=("*",), tiers={"concurrency/silent-clients": Tier.REQUIRED}),
        LabSuite(name="socketserver-upper-udp-server", family="upper-datagram", include=("*",)),
        LabSuite(name="udp-echo-server", family="udp-echo", include=("*",)),
        LabSuite(name="chat-server", family="chat", include=("*",)),
        LabSuite(name="caesar-server", family="caesar", include=("*",)),
        LabSuite(name="file-transfer-server", family="file-transfer", include=("*",)),
        LabSuite(name="http-server", family="http", include=("*",)),
        LabSuite(name="ftp-server", family="ftp", include=("*",)),
        LabSuite(name="tcp-echo-client", family="echo-client", include=("*",)),
        LabSuite(name="udp-echo-client", family="udp-client", include=("*",)),
        LabSuite(name="port-scanner", family="port-scan", include=("*",)),
        LabSuite(name="file-transfer-client", family="upload-client", include=("*",)),
        LabSuite(name="chat-client", family="chat-user", include=("*",)),
    ]
    for lab in labs:
        REGISTRY.lab_suite(lab)


_define()
