"""Run settings, resolved once: command line over environment over assignment file over defaults.

Theory of operation: ``sockgrade check`` and ``sockgrade batch`` share their
grading options (:func:`add_grading_options`).  :func:`resolve` merges them
with the environment and the assignment file into one frozen
:class:`RunConfig`, in one order (lowest first, as pytest layers its ini file
under its command line):

1. the probe's and the assignment format's defaults;
2. the assignment file (``port``, ``[limits]``, ``[docker] image``, ``extra``);
3. the environment (``SOCKGRADE_SEED``);
4. the command line (``--seed``, ``--port``, ``--extra``, ``--pids``, ...).

The runner and the launchers receive the result and never read arguments or
the environment themselves.  An option the chosen runner cannot honour is a
usage error that says so, never silently ignored.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace

from grader.assignment import Assignment
from grader.bundle import REFERENCE_DIR
from grader.errors import UsageError
from grader.launch.base import Launcher
from grader.runner import RunOptions
from grader.submission import Submission

#: Seed used when neither --seed nor SOCKGRADE_SEED is given: every run of a
#: submission sees the same payloads and split points unless asked otherwise.
DEFAULT_SEED = 20261123
MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """One grading run's settings, resolved.

    ``assignment`` carries the limits in force (``--pids`` applied);
    ``runner`` is ``local`` or ``docker``; ``image`` (Docker image name),
    ``cpus`` (cores) and ``memory`` (bytes) are the Docker runner's, None
    meaning the assignment's; ``pids`` is the ``--pids`` override, already
    applied to the assignment's limits (kept for the batch record).
    """

    assignment: Assignment
    options: RunOptions
    runner: str = "local"
    image: str | None = None
    cpus: float | None = None
    memory: int | None = None
    pids: int | None = None


def seed_from(value: str | None, environ: Mapping[str, str]) -> int:
    """The run's seed: ``value`` (``--seed``), else ``SOCKGRADE_SEED``, else :data:`DEFAULT_SEED`.

    Raises UsageError naming the source when it is not an integer.
    """
    text = value if value is not None else environ.get("SOCKGRADE_SEED")
    if text is None:
        return DEFAULT_SEED
    try:
        return int(text)
    except ValueError:
        where = "--seed" if value is not None else "SOCKGRADE_SEED"
        raise UsageError(f"{where}: expected an integer, got {text!r}") from None


def add_grading_options(parser: argparse.ArgumentParser) -> None:
    """The options ``check`` and ``batch`` share (read back by :func:`resolve`)."""
    parser.add_argument("--port", type=int, help="pin the server's port (hard-coded submissions)")
    parser.add_argument("--seed", help="seed for payloads and split points (replays a run)")
    parser.add_argument("--python", help="interpreter for 'python' in the start command")
    parser.add_argument("--select", action="append", metavar="GLOB",
                        help="run only probes whose id matches (repeatable)")
    parser.add_argument("--exclude", action="append", metavar="GLOB",
                        help="skip probes whose id matches (repeatable)")
    parser.add_argument("--extra", nargs="*", metavar="ARG",
                        help="extra arguments for the program (replace the assignment's)")
    parser.add_argument("--runner", choices=("local", "docker"), default="local",
                        help="run the submission as a local process (default) or in Docker")
    parser.add_argument("--image", help="Docker image for --runner docker")
    parser.add_argument("--cpus", type=float, help="Docker CPU limit (cores)")
    parser.add_argument("--memory", type=int, metavar="MB", help="Docker memory limit (MiB)")
    parser.add_argument("--pids", type=int,
                        help="process and thread limit (overrides [limits] processes)")


def resolve(args: argparse.Namespace, assignment: Assignment,
            environ: Mapping[str, str] | None = None) -> RunConfig:
    """Merge the grading options in ``args`` with ``environ`` (default ``os.environ``) and
    ``assignment`` into a :class:`RunConfig`.

    Raises UsageError for a value out of range, or a Docker-only option
    (``--image``, ``--cpus``, ``--memory``) with the local runner.
    """
    environ = os.environ if environ is None else environ
    runner = getattr(args, "runner", "local") or "local"
    image, cpus, memory, pids = (getattr(args, name, None)
                                 for name in ("image", "cpus", "memory", "pids"))
    if runner == "local":
        for flag, value, why in (
                ("--image", image, "the local runner uses this machine's Python"),
                ("--cpus", cpus, "the local runner does not cap CPU"),
                ("--memory", memory, "the local runner caps address space, not resident "
                                     "memory")):
            if value is not None:
                raise UsageError(f"{flag} applies to --runner docker only ({why})")
    if cpus is not None and not 0 < cpus <= 1024:
        raise UsageError(f"--cpus: expected a positive number of cores, got {cpus}")
    if memory is not None and memory < 8:
        raise UsageError(f"--memory: expected at least 8 (MiB), got {memory}")
    if pids is not None and pids < 2:
        raise UsageError(f"--pids: expected at least 2, got {pids}")
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port: expected 1-65535, got {args.port}")
    if pids is not None:
        assignment = replace(assignment, limits=replace(assignment.limits, processes=pids))
    options = RunOptions(
        seed=seed_from(args.seed, environ),
        port=args.port,
        python=args.python or sys.executable,
        select=tuple(args.select or ()),
        exclude=tuple(args.exclude or ()),
        extra=tuple(args.extra) if args.extra is not None else None,
    )
    return RunConfig(assignment=assignment, options=options, runner=runner, image=image,
                     cpus=cpus, memory=memory * MIB if memory is not None else None, pids=pids)


def make_launcher(config: RunConfig) -> Launcher:
    """The launcher ``config.runner`` names; the Docker one checks the engine, image and firewall
    now (GraderError/UsageError as one line)."""
    if config.runner == "docker":
        from grader.launch.docker import DockerLauncher  # lazy: the Docker SDK is heavy

        return DockerLauncher.checked(image=config.image or config.assignment.image,
                                      cpus=config.cpus, memory=config.memory)
    from grader.launch.local import LocalLauncher

    return LocalLauncher()


def reference_submission(assignment: Assignment) -> Submission:
    """The bundled reference program of ``assignment`` as a submission; UsageError if none."""
    if assignment.reference is None:
        raise UsageError(f"assignment {assignment.id} names no reference program")
    path = REFERENCE_DIR / assignment.reference
    if not path.is_file():
        raise UsageError(f"reference program not found: {path}")
    return Submission(label=f"reference/{assignment.reference}", folder=REFERENCE_DIR,
                      entry=assignment.reference, command=None)
