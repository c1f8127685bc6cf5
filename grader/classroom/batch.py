"""``sockgrade batch`` and ``sockgrade merge``: grade a whole class's folder of submissions.

Theory of operation: :func:`grader.classroom.exports.discover` turns the folder into
one entry per student; ``--shard I/N`` keeps every N-th of them (sorted by
student id, starting at the I-th), so N independent jobs grade disjoint
slices that ``sockgrade merge`` joins.  ``--jobs`` worker threads each take
a submission, stage a private copy (:mod:`grader.classroom.staging`), grade it with an
ordinary :class:`grader.runner.Runner` and write the student's JUnit and
JSON reports atomically (the JSON last: its presence marks the student
done).  Local runs pick a free port per program instance; an assignment
with a pinned port runs one submission at a time locally (every copy would
bind the same port) and in parallel under Docker, where each container has
its own network.  Nothing is lost: a submission with nothing to run gets a
failed row with score 0 and the reason, a grader crash an error row.

Each submission's launcher is wrapped so an interrupt can stop its programs:
the first Ctrl-C (or SIGTERM, SIGHUP) cancels the queue, stops the running programs,
discards the gradings they cut short, keeps every finished report and exits
130 (143 for SIGTERM, 129 for SIGHUP); a second Ctrl-C quits at once.  ``--resume`` then
grades only the students without a complete report made with the same
options from the same files.  At the end the gradebook CSV, the combined
JUnit file, the summary and the manifest are written (:mod:`grader.classroom.gradebook`).
Exit status: 0 when the batch completed, whatever the students scored; 2
for a usage or grader-level error.

Faults during a batch (docs: README, "Grading a class"):

* the grader killed outright (SIGKILL, OOM killer, power loss): every
  report on disk is whole (atomic writes, JSON last), so ``--resume`` grades
  exactly the students without one; a watchdog process
  (:mod:`grader.launch.watchdog`) kills the killed run's local programs the
  moment it dies, and the next batch sweeps its cgroups, staging copies and
  (Docker) containers;
* the output folder full (ENOSPC) or read-only: the batch stops at the first
  report it cannot write (a read-only folder before grading anything) with
  one line naming the cause and the path, exit status 2; finished reports
  are kept for ``--resume``;
* the Docker engine unreachable: a grading that did not pass while the engine
  does not answer, and every submission after it, become ``error`` rows
  (never counted, regraded by ``--resume``); the gradebook and summary are
  written, then one line names the cause, exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import glob
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grader import interrupts
from grader.assignment import Assignment, ProbeConfig, load
from grader.classroom import gradebook, staging
from grader.classroom.exports import Entry, discover
from grader.errors import GraderError, UsageError
from grader.launch import cgroup
from grader.launch.base import Launcher, Output
from grader.launch.tracked import TrackedLauncher
from grader.launch.watchdog import Watchdog
from grader.report import jsonreport
from grader.report import junit as junit_report
from grader.report.files import write_atomic
from grader.report.text import clean
from grader.runner import GradeResult, Runner, RunOptions
from grader.settings import RunConfig, make_launcher, resolve
from grader.submission import Submission
from grader.verdict import Outcome, Verdict

#: Folder of the per-student reports inside ``--out``.
STUDENTS = "students"
#: Format tag of the ``batch`` section added to each per-student JSON report.  Besides the
#: student's identity, fingerprint and note it may hold ``launches`` (how many programs the
#: grading started) and ``launch_seconds``: the seconds they spent in each launch phase, summed
#: (:func:`grader.launch.base.phases_of`).
ENTRY_FORMAT = "sockgrade-batch-entry/1"


# -- planning ----------------------------------------------------------------


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"I/N"`` as (I, N) with 1 <= I <= N; raises UsageError otherwise."""
    if text is None:
        return None
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise UsageError(f"--shard: expected I/N such as 1/4, got {text!r}") from None
    if not 1 <= index <= count:
        raise UsageError(f"--shard: I must be between 1 and N, got {text!r}")
    return index, count


def shard_slice(entries: list[Entry], shard: tuple[int, int] | None) -> list[Entry]:
    """The entries of shard I/N: positions I-1, I-1+N, ... of the list sorted by student id."""
    ordered = sorted(entries, key=lambda e: e.student)
    if shard is None:
        return ordered
    index, count = shard
    return ordered[index - 1 :: count]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def options_record(config: RunConfig) -> dict[str, Any]:
    """What a grading depends on besides the submission (resume and merge compare it)."""
    assignment, options = config.assignment, config.options
    try:
        source_sha = hashlib.sha256(assignment.source.read_bytes()).hexdigest()[:16]
    except OSError:
        source_sha = ""
    docker = config.runner == "docker"
    memory_mb = config.memory // (1024 * 1024) if config.memory is not None else None
    return {
        "assignment": assignment.id,
        "assignment_sha256": source_sha,
        "seed": options.seed,
        "select": list(options.select),
        "exclude": list(options.exclude),
        "extra": None if options.extra is None else list(options.extra),
        "port": options.port,
        "runner": config.runner,
        "image": (config.image or assignment.image) if docker else None,
        "limits": [config.cpus, memory_mb, config.pids] if docker else None,
    }


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A resolved batch: who is graded with what, and where the reports go."""

    config: RunConfig
    folder: Path
    entries: tuple[Entry, ...]
    total: int
    ids_digest: str
    record: dict[str, Any]
    outputs: gradebook.Outputs
    jobs: int
    resume: bool
    shard: tuple[int, int] | None
    wide: bool = False

    @property
    def assignment(self) -> Assignment:
        """The assignment, with the limits in force."""
        return self.config.assignment

    @property
    def options(self) -> RunOptions:
        """The run options every submission is graded with."""
        return self.config.options

    @property
    def options_digest(self) -> str:
        """Digest of :attr:`record`."""
        return _digest(self.record)

    def report_paths(self, entry: Entry) -> tuple[Path, Path]:
        """(JSON, JUnit) report paths of ``entry``."""
        base = self.outputs.out / STUDENTS / entry.slug
        return base.with_name(base.name + ".json"), base.with_name(base.name + ".junit.xml")


# -- synthetic results ---------------------------------------------------------


def _verdict(config: ProbeConfig, outcome: Outcome, reason: str, **kw: Any) -> Verdict:
    return Verdict(probe_id=config.id, category=config.category,
                   name=config.spec.name.split("/", 1)[1], outcome=outcome, tier=config.tier,
                   weight=config.weight, time=0.0, requirement=config.requirement,
                   reason=reason, hidden=config.hidden, **kw)


def synthetic_result(plan: Plan, configs: list[ProbeConfig], entry: Entry, runner: str, *,
                     crash: str | None = None, nothing: str | None = None) -> GradeResult:
    """A result for a submission the runner could not grade.

    ``nothing``: the submission holds nothing to run (its fault): the first
    probe fails with the reason, the rest are skipped, score 0.  ``crash``:
    the grader failed: every probe is an excused error, nothing counted.
    """
    if nothing is not None:
        hint = (f"hand in a folder with {plan.assignment.entry} (or a single program file), "
                "a zip of it, or that file alone")
        verdicts = [_verdict(configs[0], Outcome.FAILED, f"nothing to run: {nothing}", hint=hint)]
        verdicts += [_verdict(c, Outcome.SKIPPED, "nothing to run") for c in configs[1:]]
        notes: tuple[str, ...] = (f"nothing to run: {nothing}",)
    else:
        verdicts = [_verdict(c, Outcome.ERROR, f"grader error: {crash}", excused=True)
                    for c in configs]
        notes = (f"grader error: {crash}",)
    return GradeResult(
        assignment_id=plan.assignment.id, assignment_title=plan.assignment.title,
        submission=entry.student, runner=runner, seed=plan.options.seed,
        started=datetime.now(UTC), duration=0.0, verdicts=tuple(verdicts),
        output=Output(stdout=b"", stderr=b"", stdout_total=0, stderr_total=0), notes=notes)


def _note(result: GradeResult, extra: str | None) -> str:
    """The gradebook's note: why a row is not an ordinary grading, or why it scored nothing."""
    if extra:
        return clean(extra, limit=300).replace("\n", " ")
    pick: Verdict | None = None
    if result.status == "error":
        pick = next((v for v in result.verdicts if v.outcome is Outcome.ERROR), None)
    elif result.status == "failed" and result.score == 0:
        pick = next((v for v in result.verdicts if v.outcome is Outcome.FAILED), None)
    if pick is None:
        return ""
    return clean(f"{pick.category}/{pick.name}: {pick.reason}", limit=300).replace("\n", " ")


# -- the batch -------------------------------------------------------------------


class Batch:
    """Runs a :class:`Plan`: the worker pool, reports, progress and interrupts."""

    def __init__(self, plan: Plan, launcher: Launcher, console: Console) -> None:
        self.plan = plan
        self.launcher = launcher
        self.console = console
        self.cancel = threading.Event()
        self._active: set[TrackedLauncher] = set()
        self._lock = threading.Lock()
        self._stage_root: Path | None = None
        #: Why the Docker engine stopped answering, once it has (the rest are error rows).
        self.engine_down: str | None = None
        probe = Submission(label="-", folder=plan.folder, entry=plan.assignment.entry,
                           command=None)
        self.configs = Runner(plan.assignment, probe, launcher, plan.options).selected()

    # -- per student

    def completed_row(self, entry: Entry, fingerprint: str) -> gradebook.Row | None:
        """The row of a complete earlier report of ``entry`` with the same options and files."""
        json_path, junit_path = self.plan.report_paths(entry)
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
            batch = data["batch"]
            if (data.get("format") != jsonreport.FORMAT or batch.get("format") != ENTRY_FORMAT
                    or batch.get("retry") or batch.get("student") != entry.student
                    or batch.get("options_digest") != self.plan.options_digest
                    or batch.get("fingerprint") != fingerprint or not junit_path.is_file()):
                return None
            return gradebook.row_from_report(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def grade(self, entry: Entry, fingerprint: str) -> tuple[gradebook.Row, float] | None:
        """Grade one submission and write its reports; None when an interrupt cut it short.

        Never raises for the submission's faults or the runner's; raises
        ``OSError`` only when the reports cannot be written.
        """
        if self.cancel.is_set():
            return None
        assert self._stage_root is not None
        if self.engine_down is not None:
            return self._not_graded(entry, fingerprint), 0.0
        tracked = TrackedLauncher(self.launcher)
        with self._lock:
            self._active.add(tracked)
        work = Path(tempfile.mkdtemp(prefix=f"{entry.slug[:40]}-", dir=self._stage_root))
        extra_note: str | None = None
        try:
            try:
                staged = staging.stage(entry, self.plan.assignment, work)
            except staging.NothingToRun as exc:
                extra_note = f"nothing to run: {exc}"
                result = synthetic_result(self.plan, self.configs, entry, self.launcher.name,
                                          nothing=str(exc))
            else:
                runner = Runner(self.plan.assignment, staged.submission,
                                cast(Launcher, tracked), self.plan.options)
                result = runner.run()
                result = replace(result, notes=(*staged.notes, *result.notes))
        except Exception as exc:
            crash = f"{type(exc).__name__}: {exc}"
            extra_note = f"grader error: {crash}"
            result = synthetic_result(self.plan, self.configs, entry, self.launcher.name,
                                      crash=crash)
        finally:
            with self._lock:
                self._active.discard(tracked)
            tracked.release()  # nothing this grading started outlives it
            staging.remove(work)
        if tracked.aborted:
            return None
        if result.status != "passed" and self._engine_lost():
            return self._not_graded(entry, fingerprint), result.duration
        return (self._write(entry, fingerprint, result, _note(result, extra_note),
                            phases=tracked.phases(), launches=tracked.launches),
                result.duration)

    def _engine_lost(self) -> bool:
        """True when the runner's engine (Docker) no longer answers; remembers why."""
        if self.engine_down is not None:
            return True
        check = getattr(self.launcher, "engine_problem", None)
        problem = check() if check is not None else None
        if problem is not None:
            with self._lock:
                self.engine_down = self.engine_down or problem
        return problem is not None

    def _not_graded(self, entry: Entry, fingerprint: str) -> gradebook.Row:
        """The error row of a submission the engine's outage kept from being graded."""
        crash = f"not graded: {self.engine_down}"
        result = synthetic_result(self.plan, self.configs, entry, self.launcher.name,
                                  crash=crash)
        return self._write(entry, fingerprint, result, f"grader error: {crash}", retry=True)

    def _write(self, entry: Entry, fingerprint: str, result: GradeResult,
               note: str, *, retry: bool = False,
               phases: Mapping[str, float] | None = None,
               launches: int = 0) -> gradebook.Row:
        json_path, junit_path = self.plan.report_paths(entry)
        data = jsonreport.to_dict(result)
        data["batch"] = {
            "format": ENTRY_FORMAT, "student": entry.student, "name": entry.name,
            "export": entry.export, "source": entry.source, "report": entry.slug,
            "fingerprint": fingerprint, "options_digest": self.plan.options_digest,
            "note": note,
        }
        if retry:  # a grader fault of the whole batch: --resume grades it again
            data["batch"]["retry"] = True
        if phases:  # where the launcher's time went (benchmarks/bench_batch.py reads it)
            data["batch"]["launches"] = launches
            data["batch"]["launch_seconds"] = {k: round(v, 4) for k, v in sorted(phases.items())}
        try:
            write_atomic(junit_path, junit_report.render([result], student=entry.student))
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(junit_path)) from None
        try:
            write_atomic(json_path, json.dumps(data, indent=2, ensure_ascii=False))
        except OSError as exc:
            junit_path.unlink(missing_ok=True)  # no half of a report: --resume grades it again
            raise OSError(exc.errno, exc.strerror, str(json_path)) from None
        return gradebook.row_from_report(data)

    def abort_all(self) -> None:
        """Stop the programs of every grading in progress."""
        with self._lock:
            active = list(self._active)
        for tracked in active:
            tracked.abort()

    # -- the whole batch

    def run(self) -> int:
        """Grade the plan; returns the exit status (0, or 130/143 when interrupted).

        Raises GraderError (one line) when the reports cannot be written (disk
        full, read-only folder) or the Docker engine stopped answering.
        """
        plan = self.plan
        rows: dict[str, gradebook.Row] = {}
        try:
            (plan.outputs.out / STUDENTS).mkdir(parents=True, exist_ok=True)
            probe = plan.outputs.out / STUDENTS / f".sockgrade-write-test-{os.getpid()}"
            try:
                write_atomic(probe, "")  # a read-only folder: say so before grading anyone
                probe.unlink()
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(probe.parent)) from None
            for old in plan.outputs.all():
                old.unlink(missing_ok=True)
            status = self._run(rows)
        except OSError as exc:
            raise self._unwritable(exc, rows) from None
        if self.engine_down is not None:
            errors = sum(1 for r in rows.values() if r.status == "error")
            raise GraderError(
                f"{self.engine_down}: {errors} submission(s) are error rows (not graded, never "
                f"counted); run the same command with --resume once the engine answers "
                f"('sockgrade cleanup' removes the containers it kept)")
        return status

    def _unwritable(self, exc: OSError, rows: dict[str, gradebook.Row]) -> GraderError:
        """The one line for a report that could not be written (ENOSPC, EROFS, EACCES)."""
        where = f" (writing {exc.filename})" if exc.filename else ""
        kept = sum(1 for e in self.plan.entries if self.plan.report_paths(e)[0].is_file())
        fix = "free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else \
            "make the folder writable"
        return GraderError(
            f"cannot write the reports in {self.plan.outputs.out}: "
            f"{(exc.strerror or str(exc)).lower()}{where}; the batch stopped and its "
            f"{kept} finished report(s) are kept: {fix}, then run the same command with --resume")

    def _run(self, rows: dict[str, gradebook.Row]) -> int:
        plan = self.plan
        fingerprints = {e.student: staging.fingerprint(e) for e in plan.entries}
        todo: list[Entry] = []
        stale = 0
        for entry in plan.entries:
            row = self.completed_row(entry, fingerprints[entry.student]) if plan.resume else None
            if row is None:
                if plan.resume:
                    stale += plan.report_paths(entry)[0].exists()
                    for path in plan.report_paths(entry):  # a killed run's half-written copies
                        for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
                            tmp.unlink(missing_ok=True)
                else:
                    for path in plan.report_paths(entry):
                        path.unlink(missing_ok=True)
                todo.append(entry)
            else:
                rows[entry.student] = row
        if plan.resume:
            why = (f" ({stale} earlier report(s) were made with other options or from files "
                   "that changed since)") if stale else ""
            self._say(f"resume: {len(rows)} already graded, {len(todo)} to grade{why}")
        started = time.monotonic()
        started_at = datetime.now(UTC)
        staging.sweep_roots()
        cgroup.sweep()  # the programs of a grader killed outright, if its watchdog missed any
        self._stage_root = staging.make_root()
        watchdog = Watchdog.start()
        try:
            with interrupts.handled():
                status = self._pool(todo, fingerprints, rows)
        finally:
            watchdog.close()  # the programs are stopped: nothing for it to sweep
            shutil.rmtree(self._stage_root, ignore_errors=True)
        if status:
            left = len(plan.entries) - len(rows)
            self._say(f"interrupted: {len(rows)} of {len(plan.entries)} submissions graded, "
                      f"{left} left; their reports are in {plan.outputs.out / STUDENTS}. "
                      "Run the same command with --resume to grade the rest.")
            return status
        self._finish(list(rows.values()), started_at, time.monotonic() - started,
                     graded=len(todo))
        return 0

    def _pool(self, todo: list[Entry], fingerprints: dict[str, str],
              rows: dict[str, gradebook.Row]) -> int:
        jobs = max(1, min(self.plan.jobs, len(todo) or 1))
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sockgrade-batch")
        futures: dict[Future[tuple[gradebook.Row, float] | None], Entry] = {
            pool.submit(self.grade, e, fingerprints[e.student]): e for e in todo}
        display = _Display(self.console, len(todo))
        pending = set(futures)
        try:
            with display:
                while pending:
                    done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                    for future in done:
                        graded = future.result()
                        if graded is not None:
                            rows[graded[0].student] = graded[0]
                            display.add(*graded)
        except KeyboardInterrupt as exc:
            status = interrupts.exit_status(exc)
            self._interrupt(pool, pending, rows, display)
            return status
        except BaseException:
            self.cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            self.abort_all()
            raise
        pool.shutdown(wait=True)
        return 0

    def _interrupt(self, pool: ThreadPoolExecutor,
                   pending: set[Future[tuple[gradebook.Row, float] | None]],
                   rows: dict[str, gradebook.Row], display: _Display) -> None:
        """First interrupt: stop the running gradings, keep what finished; second: quit now."""
        self.cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        self._say("interrupted: stopping the running submissions "
                  "(press Ctrl-C again to quit at once)")
        self.abort_all()
        try:
            while pending := {f for f in pending if not f.cancelled()}:  # wait() ignores those
                done, pending = wait(pending, timeout=0.25)
                self.abort_all()
                for future in done:
                    if future.cancelled():
                        continue
                    try:
                        graded = future.result()
                    except Exception:
                        continue
                    if graded is not None:
                        rows[graded[0].student] = graded[0]
        except KeyboardInterrupt:
            self._say("interrupted again: quitting now; finished reports are kept")
            try:
                self.abort_all()
                self.launcher.close()  # containers and networks (Docker) go now, not at exit
                if self._stage_root is not None:
                    shutil.rmtree(self._stage_root, ignore_errors=True)
            except KeyboardInterrupt:
                pass  # a third Ctrl-C: leave the rest to 'sockgrade cleanup'
            finally:
                os._exit(130)  # skip joining the workers still winding down

    def _finish(self, rows: list[gradebook.Row], started_at: datetime, wall: float,
                graded: int) -> None:
        plan = self.plan
        junit_files = [plan.report_paths(e)[1] for e in plan.entries]
        manifest = {
            "assignment": plan.assignment.id, "title": plan.assignment.title,
            "folder": str(plan.folder), "options": plan.record,
            "options_digest": plan.options_digest, "ids_digest": plan.ids_digest,
            "total": plan.total, "runner": plan.record["runner"],
            "shard": None if plan.shard is None else {"index": plan.shard[0],
                                                      "count": plan.shard[1]},
            "started": started_at.isoformat(timespec="seconds"), "wall_seconds": round(wall, 2),
            "jobs": plan.jobs, "graded": graded, "resumed": len(rows) - graded,
            "engine_unreachable": self.engine_down,
        }
        title = f"{plan.assignment.title} — batch summary"
        summary = gradebook.write_aggregates(
            plan.outputs, rows, junit_text=gradebook.combine_junit(junit_files),
            manifest=manifest, title=title, wide=plan.wide)
        self.console.print()
        for line in gradebook.summary_lines(summary):
            self.console.print(line, markup=False, highlight=False)
        rate = graded / wall * 60 if wall > 0 and graded else 0.0
        self._say(f"graded {graded} submission(s) in {wall:.1f}s ({rate:.1f}/min, "
                  f"{plan.jobs} job(s)); gradebook: {plan.outputs.gradebook}; "
                  f"JUnit: {plan.outputs.junit}")

    def _say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, style="dim")


class _Display:
    """Progress: a live bar with pass/fail/error counts and time left on a terminal,
    else one plain line per finished submission."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.counts = {"passed": 0, "failed": 0, "error": 0}
        self.done = 0
        self.live = console.is_terminal
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> _Display:
        if self.live:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                TextColumn("[green]{task.fields[passed]} passed[/] [red]{task.fields[failed]} "
                           "failed[/] [magenta]{task.fields[error]} error[/]"),
                TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(),
                TextColumn("left"),
                console=self.console)
            self._progress.__enter__()
            self._task = self._progress.add_task("grading", total=self.total, passed=0,
                                                 failed=0, error=0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

    def add(self, row: gradebook.Row, seconds: float) -> None:
        """Count a finished submission."""
        self.done += 1
        self.counts[row.status] = self.counts.get(row.status, 0) + 1
        if self._progress is not None:
            self._progress.update(self._task, advance=1, passed=self.counts["passed"],
                                  failed=self.counts["failed"], error=self.counts["error"])
            if row.status == "error":
                self._progress.console.print(f"error: {row.student}: {row.note}", markup=False,
                                             highlight=False, style="magenta")
            return
        width = len(str(self.total))
        line = (f"[{self.done:>{width}}/{self.total}] {clean(row.student, limit=60)}  "
                f"{row.score:g}/{row.max_score:g}  {row.status}  ({seconds:.1f}s)")
        if row.note:
            line += f"  {row.note}"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


# -- commands ----------------------------------------------------------------------


def plan_batch(args: argparse.Namespace, console: Console) -> Plan:
    """Resolve ``sockgrade batch`` arguments into a :class:`Plan`; raises UsageError."""
    if getattr(args, "command", None):
        raise UsageError("batch grades the files in FOLDER: a command after -- is not supported")
    config = resolve(args, load(args.assignment))
    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"submissions folder not found: {args.folder}")
    folder = folder.resolve()
    out = Path(args.out).resolve()
    try:
        entries = discover(folder, exclude=[out])
    except OSError as exc:
        raise UsageError(f"{args.folder}: cannot read the folder: {exc.strerror}") from None
    if not entries:
        raise UsageError(f"{args.folder}: no submissions in the folder")
    shard = parse_shard(args.shard)
    chosen = shard_slice(entries, shard)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: expected at least 1, got {args.jobs}")
    return Plan(
        config=config, folder=folder, entries=tuple(chosen), total=len(entries),
        ids_digest=_digest(sorted(e.student for e in entries)),
        record=options_record(config),
        outputs=gradebook.Outputs(out=out, shard=shard),
        jobs=args.jobs or len(os.sched_getaffinity(0)), resume=args.resume, shard=shard,
        wide=args.wide)


def cmd_batch(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade batch ASSIGNMENT FOLDER``: grade every submission in FOLDER."""
    plan = plan_batch(args, console)
    launcher = make_launcher(plan.config)
    try:
        port = plan.options.port if plan.options.port is not None else plan.assignment.port
        if port is not None and not launcher.isolated_network and plan.jobs > 1:
            plan = replace(plan, jobs=1)
            console.print(f"note: port {port} is pinned, so the {launcher.name} runner grades "
                          "one submission at a time (every copy would bind the same port); "
                          "--runner docker grades them in parallel", markup=False,
                          highlight=False, style="yellow")
        where = "" if plan.shard is None else f" (shard {plan.shard[0]}/{plan.shard[1]} of {plan.total})"
        console.print(f"{plan.assignment.id}: {len(plan.entries)} submission(s) from "
                      f"{plan.folder}{where}; runner {launcher.name}, {plan.jobs} job(s); "
                      f"reports in {plan.outputs.out}", markup=False, highlight=False, style="dim")
        return Batch(plan, launcher, console).run()
    finally:
        launcher.close()


def cmd_merge(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade merge OUT...``: join shard outputs into one gradebook and one JUnit file."""
    outputs = gradebook.Outputs(out=Path(args.out).resolve())
    rows, summary = gradebook.merge([Path(p) for p in args.inputs], outputs, wide=args.wide)
    for line in gradebook.summary_lines(summary):
        console.print(line, markup=False, highlight=False)
    console.print(f"merged {len(rows)} rows; gradebook: {outputs.gradebook}; "
                  f"JUnit: {outputs.junit}", markup=False, highlight=False, style="dim")
    return 0
