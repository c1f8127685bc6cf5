"""sockgrade: a black-box grader for socket-programming assignments.

Theory of operation: an *assignment* (TOML data) names the probes a lab
program must pass; a *launcher* starts the *submission* (a local process or a
Docker container); each *probe* drives it over real sockets through a peer and
returns a *verdict* with evidence; report writers turn verdicts into console
text, JUnit XML and JSON.  See README.md for usage.
"""

__version__ = "0.1.0"
