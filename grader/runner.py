"""The runner: start the submission, run its probes, collect verdicts.

Theory of operation: the assignment's probes are grouped into *lanes*.  Each
lane of a server lab runs against its own program instance, and lanes run
concurrently, so slow observations (an idle second of CPU measurement) overlap
the rest instead of adding to it.  When the port is pinned and the launcher
shares one network (local runs), the lanes merge into one: two instances
cannot both bind a pinned port.

Within a lane probes run in order.  A probe whose dependencies did not pass
is skipped with the reason.  Each probe runs in a worker thread bounded by
its timeout; every socket operation inside is bounded by the same deadline,
so overrunning it is a grader fault (``error``).  After each probe the server
is given until it has handled that probe's connections
(:func:`grader.launch.quiet.settle`, an observed condition with a bound, not
a fixed pause), and a probe's verdict is recorded only when the next probe of
its lane is about to start: a server found dead by then died of that probe's
connections (nothing else talked to it), so the verdict says so with the
stderr tail, and the server is started again if a later probe needs it — on
a fresh port unless pinned, since a server without ``SO_REUSEADDR`` cannot
bind the same port for up to a minute after a close (TIME_WAIT, RFC 9293
section 3.6.1).

A server still holding a connection the probe closed when the settle's
bound ran out (*lingering*, :class:`grader.launch.quiet.Settling`: a loop
that ignores ``recv() == b''`` spins on it for good) is also started afresh
before the next probe of its lane: it would fail every later probe on that
one bug and make each wait out its timeout; one bug fails the probes aimed
at it, not everything after it.  Any other server keeps serving: a fresh
start costs a process (under Docker, a container), so it is spent only where
the state is known to be bad.  The report notes each fresh start.

A command that uses the ``{scratch}`` placeholder (or ``{root}``, its name
in the labs that serve a folder) gets a fresh, empty, grader-owned folder
per program instance (``<temp>/store``; probes see it as ``ctx.scratch``),
removed when that instance stops.

Outcomes follow check50's three-valued rule: passed, failed (the submission),
error (the grader or machine, never counted), plus skipped.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from grader import net, tls
from grader.assignment import Assignment, ProbeConfig
from grader.context import EXITED_AFTER_SERVING, ProbeContext
from grader.errors import LaunchError, UsageError
from grader.launch import portuse, quiet
from grader.launch.base import Launcher, LaunchSpec, Output, Program, add_phase
from grader.readiness import StartResult, crash_hint, stderr_tail, wait_ready
from grader.submission import Submission, argv
from grader.verdict import Evidence, Outcome, ProbeError, ProbeFailed, Tier, TimeLimit, Verdict

#: Extra seconds a probe thread gets past its timeout before it is declared overrun.
OVERRUN_GRACE = 2.0
#: Seconds more, after the settle, for a server that printed a traceback or still holds a
#: connection of the probe to finish exiting, so its death is charged to the probe that
#: caused it (a traceback takes a moment to print).
DEATH_GRACE = 0.5
#: After a probe, most seconds to wait for the server to handle that probe's
#: connections (a reset or close it may not survive), so a crash is charged to it
#: (:func:`grader.launch.quiet.settle` ends the wait as soon as it has).
SETTLE_BOUND = 0.5
#: Seconds a failed probe waits for the server's traceback to reach stderr.
TRACEBACK_GRACE = 0.2
#: Seconds a failed probe waits for a traceback that has started to print to finish (its
#: exception line), so a loaded machine does not cut the root cause off the evidence.
TRACEBACK_COMPLETION = 3.0
#: Exceptions whose traceback names the root cause better than a probe's guess can.
ROOT_CAUSES = ("UnicodeDecodeError", "MemoryError", "check_hostname requires server_hostname",
               "PROTOCOL_TLS_CLIENT")
#: Starts tried when the port the grader chose is taken before the server binds it.
PORT_ATTEMPTS = 3
#: Seconds stopping one program may take at most (the launchers' kill loops are bounded).
STOP_BOUND = 15.0


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """Settings of one grading run, resolved from the command line.

    ``port`` pins the server's port (overrides the assignment); ``python``
    is the interpreter for a ``python`` command word; ``select``/``exclude``
    are glob patterns on probe ids or ``category/name``; ``extra`` replaces
    the assignment's extra argv words.
    """

    seed: int
    port: int | None = None
    python: str = sys.executable
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extra: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class GradeResult:
    """All verdicts of one submission on one assignment.

    ``duration`` is in seconds; ``output`` is the captured output of the
    main program instance (servers) or of the last client run.
    """

    assignment_id: str
    assignment_title: str
    submission: str
    runner: str
    seed: int
    started: datetime
    duration: float
    verdicts: tuple[Verdict, ...]
    output: Output
    notes: tuple[str, ...] = ()
    command: tuple[str, ...] = ()

    def counted(self, verdict: Verdict) -> bool:
        """True when ``verdict`` counts toward the score (required and not excused)."""
        return verdict.tier is Tier.REQUIRED and not verdict.excused

    @property
    def score(self) -> float:
        """Weights of passed required probes."""
        return sum(v.weight for v in self.verdicts if self.counted(v) and v.outcome is Outcome.PASSED)

    @property
    def max_score(self) -> float:
        """Weights of required probes, minus those excused by a grader error."""
        return sum(v.weight for v in self.verdicts if self.counted(v))

    def count(self, outcome: Outcome) -> int:
        """How many verdicts have ``outcome``; failed informational probes (advice) are not
        counted as failed (see :attr:`advice_count`)."""
        return sum(1 for v in self.verdicts if v.outcome is outcome and not v.advice)

    @property
    def advice_count(self) -> int:
        """How many informational probes failed (advice, never counted as failures)."""
        return sum(1 for v in self.verdicts if v.advice)

    @property
    def status(self) -> str:
        """"passed" (every required probe passed), "failed", or "error" (a grader fault)."""
        required = [v for v in self.verdicts if v.tier is Tier.REQUIRED]
        if any(v.outcome in (Outcome.FAILED, Outcome.SKIPPED) and not v.excused for v in required):
            return "failed"
        if any(v.outcome is not Outcome.PASSED for v in required):
            return "error"
        return "passed"


@dataclass
class _Lane:
    name: str
    configs: list[ProbeConfig]
    program: Program | None = None
    port: int | None = None
    start: StartResult | None = None
    unavailable: str | None = None
    command: tuple[str, ...] = ()
    outputs: list[Output] = field(default_factory=list)
    scratch: Path | None = None
    credentials: tls.Credentials | None = None
    #: Probes after which the server, still holding a connection the probe closed, was
    #: started afresh.
    refreshed: list[str] = field(default_factory=list)


class Runner:
    """Grades one submission against one assignment with one launcher."""

    def __init__(
        self,
        assignment: Assignment,
        submission: Submission,
        launcher: Launcher,
        options: RunOptions,
        *,
        on_verdict: Callable[[Verdict], None] | None = None,
    ) -> None:
        self.assignment = assignment
        self.submission = submission
        self.launcher = launcher
        self.options = options
        self._on_verdict = on_verdict
        self._port = options.port if options.port is not None else assignment.port
        self._extra = options.extra if options.extra is not None else assignment.extra
        self._verdicts: dict[str, Verdict] = {}
        self._done: dict[str, threading.Event] = {}
        self._notes: list[str] = []
        self._lock = threading.Lock()
        self._wait_limit = time.monotonic()
        self._entry_path = self._entry()
        # One grading: its programs may share a sandbox network (LaunchSpec.group).
        self._group = f"grading-{os.urandom(6).hex()}"
        # A launcher with its own interpreter (Docker: the image's ``python``) replaces the
        # default one; an explicit --python still wins.
        own_python = getattr(launcher, "python", None)
        self._python = (own_python if own_python and options.python == sys.executable
                        else options.python)

    def _entry(self) -> str | None:
        if self.submission.entry is None:
            return None
        if self.launcher.name == "docker":
            return f"/submission/{self.submission.entry}"
        return str(self.submission.folder / self.submission.entry)

    # -- selection --------------------------------------------------------

    def selected(self) -> list[ProbeConfig]:
        """The probes to run after ``--select``/``--exclude``, dependencies pulled in."""
        def matches(config: ProbeConfig, patterns: Sequence[str]) -> bool:
            return any(fnmatch.fnmatchcase(config.id, p) or fnmatch.fnmatchcase(config.name, p)
                       for p in patterns)

        chosen = [c for c in self.assignment.probes
                  if (not self.options.select or matches(c, self.options.select))
                  and not matches(c, self.options.exclude)]
        if not chosen:
            raise UsageError("no probe matches the --select/--exclude patterns")
        wanted = {c.name for c in chosen}
        changed = True
        while changed:
            changed = False
            for config in self.assignment.probes:
                if config.name in wanted:
                    for dep in config.spec.depends:
                        if dep not in wanted:
                            wanted.add(dep)
                            changed = True
        return [c for c in self.assignment.probes if c.name in wanted]

    # -- running ----------------------------------------------------------

    def run(self) -> GradeResult:
        """Run every selected probe; never raises for the submission's faults."""
        started_at = datetime.now(UTC)
        started = time.monotonic()
        configs = self.selected()
        for config in configs:
            self._done[config.name] = threading.Event()
        self._wait_limit = time.monotonic() + self._budget(configs)
        lanes: dict[str, _Lane] = {}
        merge = self._port is not None and not self.launcher.isolated_network
        for config in configs:
            name = "main" if merge else config.spec.lane
            lanes.setdefault(name, _Lane(name=name, configs=[])).configs.append(config)
        if self._port is not None and self.assignment.role == "server":
            self._notes.append(f"port {self._port} is pinned; network: {self.launcher.network_mode}")
        if merge and len({c.spec.lane for c in configs}) > 1:
            self._notes.append(
                f"port {self._port} is pinned: all probes share one server instance, run in turn"
            )
        ordered = sorted(lanes.values(), key=lambda lane: lane.name != "main")
        main = ordered[0]
        server = self.assignment.role == "server"
        if server:
            # The first instance starts alone: a submission that ignores argv and binds a
            # fixed port would otherwise race its own copies for it.
            self._launch(main, first=True)
            for lane in ordered[1:]:
                if not (main.start and main.start.ready):
                    lane.unavailable = main.unavailable
                    lane.start = main.start
        threads = [threading.Thread(target=self._run_lane, args=(lane, server),
                                    name=f"lane-{lane.name}") for lane in ordered[1:]]
        for thread in threads:
            thread.start()
        try:
            self._run_lane(main, False)
        finally:
            for thread in threads:
                thread.join()
        verdicts = tuple(self._verdicts[c.name] for c in configs)
        output = main.outputs[0] if main.outputs else Output(
            stdout=b"", stderr=b"", stdout_total=0, stderr_total=0)
        return GradeResult(
            assignment_id=self.assignment.id,
            assignment_title=self.assignment.title,
            submission=self.submission.label,
            runner=self.launcher.name,
            seed=self.options.seed,
            started=started_at,
            duration=time.monotonic() - started,
            verdicts=verdicts,
            output=output,
            notes=tuple(self._notes),
            command=main.command,
        )

    def _run_lane(self, lane: _Lane, launch: bool) -> None:
        # A probe's verdict is recorded when the next probe of the lane is about to start:
        # a server found dead then died of that probe's connections (nothing else talked to
        # it in between), however long its death took on a loaded machine.
        pending: tuple[ProbeConfig, Verdict, bool] | None = None
        try:
            if launch and lane.unavailable is None:
                self._launch(lane, first=True)
            for index, config in enumerate(lane.configs, start=1):
                if pending is not None:  # judged; the server's fate up to now is its own
                    self._record(self._late(lane, *pending, last=False))
                    pending = None
                verdict, watched = self._run_one(lane, config, last=index == len(lane.configs))
                pending = (config, verdict, watched)
        finally:
            if pending is not None:
                self._record(self._late(lane, *pending, last=True))
            self._stop(lane)
            if lane.refreshed:
                self._notes.append(_refresh_note(lane.refreshed))
            for config in lane.configs:  # never leave a dependent waiting
                if config.name not in self._verdicts:
                    self._record(self._verdict(config, Outcome.ERROR, 0.0,
                                               reason="lane aborted by a grader fault"))

    def _record(self, verdict: Verdict) -> None:
        name = verdict.probe_id.removeprefix(f"{self.assignment.id}/")
        with self._lock:
            self._verdicts[name] = verdict
        self._done[name].set()
        if self._on_verdict is not None:
            self._on_verdict(verdict)

    def _launch(self, lane: _Lane, *, first: bool) -> None:
        """Start the lane's server and wait for readiness.

        A port the grader chose (none pinned) can be taken by another process between
        :func:`grader.net.free_port` and the server's bind(): a start that fails with
        "Address already in use" is then retried on a fresh port, up to PORT_ATTEMPTS
        times, and noted in the report; that collision is never the submission's fault.
        A pinned port on the grader's own loopback is first waited for while sockets of
        an earlier close linger on it (TIME_WAIT), and a port another process holds is a
        grader error naming that process, never the submission's failure.
        """
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if self._shared_pinned() and not self._await_pinned_port(lane):
                return
            self._launch_once(lane, first=first)
            program, port, start = lane.program, lane.port, lane.start
            if (program is None or port is None or start is None or start.ready
                    or attempt == PORT_ATTEMPTS
                    or "Address already in use" not in stderr_tail(program, lines=40)):
                return
            if self._port is None and net.port_is_free(self.launcher.bind_host, port):
                return  # a failure of the program's own (e.g. a hard-coded busy port)
            if self._port is not None and not self._shared_pinned():
                return  # a namespace of its own: the program itself binds the port twice
            if self._port is None:
                self._notes.append(f"port {port} was taken by another process before the "
                                   f"server bound it; started again on a fresh port")
            program.stop()
            lane.program = None
            lane.unavailable = None

    def _shared_pinned(self) -> bool:
        """True when the port is pinned and servers share the grader's own loopback."""
        return self._port is not None and not self.launcher.isolated_network

    def _await_pinned_port(self, lane: _Lane) -> bool:
        """Wait (bounded) for sockets lingering on the pinned port; False when it stays held."""
        assert self._port is not None
        use, waited = portuse.wait_until_unheld(self._port)
        if use.holders:
            why = (f"port {self._port} (pinned) is held by another process: "
                   f"{', '.join(use.holders)}; stop it or grade with another --port")
        elif not use.free:
            why = (f"port {self._port} (pinned) still had {use.lingering} socket(s) of earlier "
                   f"connections after {waited:.0f} s")
        else:
            if waited >= 0.1:
                self._notes.append(f"waited {waited:.1f} s for sockets of earlier connections "
                                   f"(TIME_WAIT) to leave pinned port {self._port}")
            return True
        lane.start = StartResult(status="launch-error", elapsed=waited, reason=why)
        lane.unavailable = f"the grader could not start the program: {why}"
        return False

    def _launch_once(self, lane: _Lane, *, first: bool) -> None:
        port = self._port if self._port is not None else net.free_port(self.launcher.bind_host)
        values = {"host": self.launcher.bind_host, "port": str(port)}
        if self._wants_scratch():
            if lane.scratch is None:
                lane.scratch = _make_scratch()
            values["scratch"] = values["root"] = str(lane.scratch)
        if self._wants({"{cert}", "{key}"}):
            if lane.credentials is None:
                lane.credentials = _make_credentials()
            values["cert"] = str(lane.credentials.cert)
            values["key"] = str(lane.credentials.key)
        words = argv(
            self.submission, self.assignment, python=self._python,
            entry_path=self._entry_path, values=values,
            extra=self._extra,
        )
        lane.command = words
        writable = (*(() if lane.scratch is None else (lane.scratch.parent,)),
                    *(() if lane.credentials is None else (lane.credentials.folder,)))
        try:
            program = self.launcher.start(
                LaunchSpec(argv=words, cwd=self.submission.folder, limits=self.assignment.limits,
                           writable=writable, own_network=self.assignment.role == "server",
                           group=self._group))
        except LaunchError as exc:
            lane.start = StartResult(status="launch-error", elapsed=0.0, reason=str(exc))
            lane.unavailable = f"the grader could not start the program: {exc}"
            return
        lane.program, lane.port = program, port
        lane.start = wait_ready(program, proto=self.assignment.readiness,
                                host=self.launcher.bind_host, port=port,
                                timeout=self.assignment.timeouts.startup)
        add_phase(program, "ready", lane.start.elapsed)
        if not lane.start.ready:
            lane.unavailable = f"the server did not start: {lane.start.reason}"
            if not first and self._port is not None:
                lane.unavailable = (f"the server could not be restarted on pinned port {port}: "
                                    f"{lane.start.reason}")

    def _stop(self, lane: _Lane) -> None:
        if lane.program is not None:
            lane.program.stop()
            lane.outputs.append(lane.program.output())
            lane.program = None
        if lane.scratch is not None:
            shutil.rmtree(lane.scratch.parent, ignore_errors=True)
            lane.scratch = None
        if lane.credentials is not None:
            shutil.rmtree(lane.credentials.folder, ignore_errors=True)
            lane.credentials = None

    def _wants_scratch(self) -> bool:
        """True when the command or its extra words use the ``{scratch}`` (or ``{root}``) placeholder."""
        return self._wants({"{scratch}", "{root}"})

    def _wants(self, placeholders: set[str]) -> bool:
        """True when the command or its extra words use one of ``placeholders``."""
        words = [*(self.submission.command or (self.assignment.command,)), *self._extra]
        return any(p in word for word in words for p in placeholders)

    def _budget(self, configs: Sequence[ProbeConfig]) -> float:
        """Seconds the whole run can take when every probe and every restart overruns.

        Dependencies run in other lanes; a wait for one never outlasts this bound.
        """
        # a server starved of CPU at its startup deadline is waited for as long again
        per_start = 2 * self.assignment.timeouts.startup * PORT_ATTEMPTS + STOP_BOUND
        return sum(c.timeout + 2 * OVERRUN_GRACE + SETTLE_BOUND + DEATH_GRACE + per_start
                   for c in configs) + per_start

    def _unmet(self, config: ProbeConfig) -> tuple[Outcome, str, bool] | None:
        """Why ``config`` cannot run: (outcome, reason, excused), or None when it can."""
        for dep in config.spec.depends:
            if not self._done[dep].wait(max(0.0, self._wait_limit - time.monotonic())):
                return (Outcome.ERROR, f"grader fault: {dep} did not finish within the run's "
                                       f"time bound", True)
            verdict = self._verdicts[dep]
            if verdict.outcome is not Outcome.PASSED:
                return (Outcome.SKIPPED, f"depends on {verdict.probe_id}, which "
                                         f"{verdict.outcome.value}", verdict.excused)
        return None

    def _verdict(self, config: ProbeConfig, outcome: Outcome, elapsed: float, **kw: object) -> Verdict:
        return Verdict(
            probe_id=config.id, category=config.category, name=config.spec.name.split("/", 1)[1],
            outcome=outcome, tier=config.tier, weight=config.weight, time=elapsed,
            requirement=config.requirement, hidden=config.hidden,
            **kw,  # type: ignore[arg-type]
        )

    def _run_one(self, lane: _Lane, config: ProbeConfig, *, last: bool) -> tuple[Verdict, bool]:
        """The probe's verdict, and whether it ran against the lane's server (which a later
        death is then charged to)."""
        unmet = self._unmet(config)
        if unmet is not None:
            return self._verdict(config, unmet[0], 0.0, reason=unmet[1], excused=unmet[2]), False
        is_startup = config.category == "startup"
        if lane.unavailable and not is_startup and self.assignment.role == "server":
            return self._verdict(config, Outcome.SKIPPED, 0.0, reason=lane.unavailable,
                                 excused=lane.start is not None
                                 and lane.start.status == "launch-error"), False
        if self.assignment.role == "server" and lane.program is not None and not is_startup:
            self._revive(lane, config)
            if lane.unavailable:
                return self._verdict(config, Outcome.SKIPPED, 0.0, reason=lane.unavailable), False
        ctx = ProbeContext(
            assignment=self.assignment, config=config, seed=self.options.seed,
            launcher=self.launcher, submission=self.submission, python=self._python,
            entry_path=self._entry_path, extra=self._extra,
            program=lane.program, port=lane.port, start=lane.start, scratch=lane.scratch,
            credentials=lane.credentials, group=self._group,
        )
        watched = self.assignment.role == "server" and lane.program is not None and not is_startup
        seen = lane.program.output().stderr_total if watched and lane.program is not None else 0
        held = quiet.before_probe(lane.program.pids()) if watched and lane.program is not None \
            else quiet.Before(frozenset())
        verdict = self._execute(ctx, config)
        if watched:
            program = lane.program
            verdict = self._root_cause(lane, verdict, seen)
            verdict = self._after(lane, config, verdict, last=last, held=held, seen=seen)
            # A server started afresh after this probe owes it nothing: a death of the new
            # instance before the next probe is not this probe's to charge.
            watched = lane.program is program
        return verdict, watched

    def _root_cause(self, lane: _Lane, verdict: Verdict, seen: int) -> Verdict:
        """A failed probe during which the server printed a traceback gets that traceback as
        evidence, and a hint naming its cause when it is a known one (a decode of binary
        data, an allocation the memory cap refused): the probe's own guess comes second."""
        if verdict.outcome is not Outcome.FAILED or lane.program is None:
            return verdict
        program = lane.program

        def printed() -> str:
            return _printed_since(program, seen).decode("utf-8", "replace")

        def complete(text: str) -> bool:
            """A traceback whose last line is its exception line (neither indented nor the
            ``Traceback (most recent call last):`` header itself)."""
            lines = text.rstrip().splitlines()
            return ("Traceback" in text and bool(lines) and lines[-1][:1] != " "
                    and not lines[-1].startswith("Traceback ("))

        # A dying thread prints its traceback just after its connection closed: wait a moment
        # for it to start, and once it has started, (bounded) until its exception line is out.
        start = time.monotonic()
        fresh = printed()
        while not complete(fresh):
            limit = TRACEBACK_COMPLETION if "Traceback" in fresh else TRACEBACK_GRACE
            if time.monotonic() - start >= limit:
                break
            time.sleep(0.01)  # polls the captured stderr, a real condition; bounded
            fresh = printed()
        if not complete(fresh):
            return verdict
        tail = "\n".join(fresh.rstrip().splitlines()[-12:])
        evidence = replace(verdict.evidence, details=(
            *verdict.evidence.details, f"the server printed during this probe:\n{tail}"))
        cause = next((word for word in ROOT_CAUSES if word in fresh), None)
        hint = verdict.hint
        if cause is not None:
            hint = "; ".join(h for h in (crash_hint(fresh), verdict.hint) if h)
        return replace(verdict, evidence=evidence, hint=hint)

    def _execute(self, ctx: ProbeContext, config: ProbeConfig) -> Verdict:
        box: dict[str, BaseException | None] = {}

        def target() -> None:
            try:
                config.spec.func(ctx)
                box["exc"] = None
            except BaseException as exc:
                box["exc"] = exc

        started = time.monotonic()
        worker = threading.Thread(target=target, name=f"probe-{config.name}", daemon=True)
        worker.start()
        worker.join(config.timeout + OVERRUN_GRACE)
        if worker.is_alive():
            ctx.close_all()
            worker.join(OVERRUN_GRACE)
        ctx.close_all()
        elapsed = time.monotonic() - started
        if "exc" not in box:
            return self._verdict(config, Outcome.ERROR, elapsed, excused=True,
                                 reason=f"the probe overran its {config.timeout:g} s limit (grader fault)",
                                 transcript=ctx.transcript)
        exc = box["exc"]
        if exc is None:
            return self._verdict(config, Outcome.PASSED, elapsed, transcript=ctx.transcript)
        if isinstance(exc, ProbeFailed):
            return self._verdict(config, Outcome.FAILED, elapsed, reason=exc.reason, hint=exc.hint,
                                 evidence=exc.evidence, transcript=ctx.transcript)
        if isinstance(exc, TimeLimit):
            return self._verdict(config, Outcome.ERROR, elapsed, excused=True, reason=str(exc),
                                 transcript=ctx.transcript)
        reason = str(exc) if isinstance(exc, ProbeError) else f"{type(exc).__name__}: {exc}"
        return self._verdict(config, Outcome.ERROR, elapsed, excused=True,
                             reason=f"grader error: {reason}", transcript=ctx.transcript)

    def _revive(self, lane: _Lane, config: ProbeConfig) -> None:
        """Restart a server that exited after the previous probe had already been judged."""
        assert lane.program is not None
        status = lane.program.poll()
        if status is not None:
            self._restart(lane, f"the server had exited (status {status}) before {config.id}")

    def _restart(self, lane: _Lane, why: str) -> None:
        self._stop(lane)
        old_port = lane.port
        self._launch(lane, first=False)
        if lane.start is not None and lane.start.ready:
            where = "the same pinned port" if self._port is not None else f"port {lane.port}"
            self._notes.append(f"{why}; restarted on {where} (was {old_port})")
        else:
            self._notes.append(f"{why}; {lane.unavailable}")

    def _after(self, lane: _Lane, config: ProbeConfig, verdict: Verdict, *,
               last: bool, held: quiet.Before, seen: int) -> Verdict:
        """Charge the server's death to the probe whose connections caused it.

        After a probe, passed or failed, the server is given until it has handled the
        probe's connections (:func:`grader.launch.quiet.settle`, at most SETTLE_BOUND
        seconds; ``held`` is what it held, and which of its threads were at work, before the
        probe): a dying server is at work
        until it is gone.  One that printed a traceback during the probe, or still holds a
        connection of the probe at the bound, gets up to DEATH_GRACE more to finish exiting
        (a server back at rest after a failed probe is not dying).  A lingering server is
        then started afresh (:meth:`_refresh`).
        """
        program = lane.program
        assert program is not None
        status = program.poll()
        lingering = False
        if status is None:
            port = lane.port if self.assignment.readiness == "tcp" else None
            settling = quiet.settle(program, port=port, before=held, timeout=SETTLE_BOUND)
            status, lingering = settling.status, settling.lingering
        if status is None and (lingering or b"Traceback" in _printed_since(program, seen)):
            status = program.wait(DEATH_GRACE)
        if status is None:
            if not last and lingering:
                self._refresh(lane, config)
            return verdict
        return self._charge(lane, config, verdict, status, last=last,
                            when="during this probe")

    def _refresh(self, lane: _Lane, config: ProbeConfig) -> None:
        """Start afresh the server that still holds a connection ``config`` closed, so the
        state it left behind (a loop spinning on that connection) cannot fail the later
        probes of the lane too.  A fresh start that does not become ready makes the lane
        unavailable, as any restart does."""
        lane.refreshed.append(config.name)
        self._stop(lane)
        self._launch(lane, first=False)
        if not (lane.start is not None and lane.start.ready):
            self._notes.append(f"the server could not be started afresh after {config.id}: "
                               f"{lane.unavailable}")

    def _late(self, lane: _Lane, config: ProbeConfig, verdict: Verdict, watched: bool, *,
              last: bool) -> Verdict:
        """``verdict``, charged with the server's death when it ran against the server and
        the server has exited since it was judged (before the next probe started)."""
        if not watched or lane.program is None:
            return verdict
        status = lane.program.poll()
        if status is None:
            return verdict
        return self._charge(lane, config, verdict, status, last=last,
                            when="right after this probe, before the next one started")

    def _charge(self, lane: _Lane, config: ProbeConfig, verdict: Verdict, status: int, *,
                last: bool, when: str) -> Verdict:
        """Fail ``verdict`` (or add to its failure) with the server's exit ``status`` and its
        stderr tail, then start the server again unless the lane has no probe left."""
        assert lane.program is not None
        tail = stderr_tail(lane.program)
        died = f"the server exited with status {status} {when}"
        details = (*verdict.evidence.details, died, *((f"stderr (tail):\n{tail}",) if tail else ()))
        if status == 0:
            hint = EXITED_AFTER_SERVING
        elif "UnicodeDecodeError" in tail:
            hint = crash_hint(tail)
        else:
            hint = ("a server must survive every client: catch the error, close that "
                    "connection and keep serving")
        if verdict.outcome is Outcome.PASSED:
            verdict = replace(verdict, outcome=Outcome.FAILED, reason=died, hint=hint,
                              evidence=Evidence(details=details))
        elif verdict.outcome is Outcome.FAILED:
            verdict = replace(verdict, evidence=replace(verdict.evidence, details=details))
        if last:  # no later probe of this lane needs the server: do not start it again
            self._notes.append(f"{config.id} stopped the server (status {status})")
            self._stop(lane)  # and its death is charged once
        else:
            self._restart(lane, f"{config.id} stopped the server (status {status})")
        return verdict


def _refresh_note(refreshed: Sequence[str]) -> str:
    """The report's note on a lane's fresh starts, after the probes ``refreshed``."""
    return ("the server was started afresh, so that one fault does not carry over to later "
            f"probes, after each probe whose closed connection it was still busy with "
            f"({', '.join(refreshed)})")


def _printed_since(program: Program, seen: int) -> bytes:
    """What ``program`` wrote to stderr after its first ``seen`` bytes (as far as kept)."""
    output = program.output()
    new = output.stderr_total - seen
    return output.stderr[-new:] if new > 0 else b""


def _make_scratch() -> Path:
    """A fresh grader-owned folder for one program instance: ``<new temp dir>/store``.

    The parent is also fresh and holds nothing else, so a probe can check
    that the program wrote nothing outside ``store`` (docs/labs.md §10).
    """
    root = Path(tempfile.mkdtemp(prefix="sockgrade-scratch-"))
    store = root / "store"
    store.mkdir()
    return store


def _make_credentials() -> tls.Credentials:
    """A throw-away CA and server certificate (``{cert}``, ``{key}``, docs/labs.md §12) in a
    fresh grader-owned folder, one per program instance, removed when that instance stops."""
    return tls.make_credentials(Path(tempfile.mkdtemp(prefix="sockgrade-tls-")))
