"""Launching programs: local processes and Docker containers, observed from the host.

Theory of operation: a :class:`~grader.launch.base.Launcher` starts one
program from a :class:`~grader.launch.base.LaunchSpec` (argv, folder,
limits) and returns a :class:`~grader.launch.base.Program` the grader can
stop, observe (``/proc``: threads, fds, CPU, RSS, sockets) and reach over
sockets.  ``local`` runs a process group with rlimits, a cgroup and a
network namespace of its own where the machine allows it; ``docker`` runs a
container on a firewalled network.  This package knows nothing of
assignments, probes or the command line: the runner above it passes
everything it needs.
"""
