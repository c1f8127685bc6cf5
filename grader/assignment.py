"""Assignments: what a lab requires, as data a teacher can edit.

Theory of operation: an assignment is a TOML file (the bundled ones ship in
the package, :data:`grader.bundle.ASSIGNMENTS_DIR`; ``sockgrade assignment
show ID`` prints one to copy; a teacher may pass a path to their own).  It names the
program's role (server or client), how to start it, which probe suite it is
graded by and which probes run with what weight, tier and timeout, plus the
protocol strings and parameters the probes use.  Loading validates every key:
an unknown key, a wrong type or an unknown probe is rejected with the file,
the key and the reason (:class:`grader.errors.AssignmentError`).

Format (every key but ``id``, ``role``, ``suite`` and ``probes`` is optional)::

    id = "tcp-echo-server"
    title = "TCP echo server"
    lab = 1                                 # number in the lab catalogue
    role = "server"                         # or "client"
    suite = "echo-select-server"            # the lab suite (or a whole probe family)
    entry = "server.py"                     # entry point in a folder submission
    command = "python {entry} {host} {port}"  # {extra}, {message} and {file} also exist
    port = 65432                            # pin the port (submissions that hard-code it)
    reference = "tcp_echo_server.py"        # the bundled reference program
    extra_probes = "course_probes.py"       # the course's own probes (grader.probes.course)
    readiness = "tcp"                       # "tcp" (listening) or "udp" (bound)
    extra = []                              # extra argv words, {workdir} substituted;
                                            # {scratch}: a fresh grader-owned folder per instance
                                            # ({root} in the command: the same folder)
    [timeouts]                              # seconds
    startup = 5.0
    reply = 2.0
    [limits]
    memory_mb = 256
    processes = 64
    cpus = 1.0
    [docker]
    image = "python:3.12-slim"
    [protocol]                              # free-form, read by the suite's probes
    [probes."echo/one-message"]             # every probe of the suite runs; a table only overrides
    weight = 2
    tier = "required"                       # or "informational"
    timeout = 10.0
    enabled = true                          # false: this assignment does not run the probe
    hidden = false                          # true: counts, but a student's own run shows
                                            # neither its name nor its evidence
                                            # (grader.report.visibility)
    params = { }                            # the probe's declared settings (sockgrade list ID)

The run order is the suite's (each probe after the probes it depends on),
whatever order the file lists its probes in.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.bundle import ASSIGNMENTS_DIR
from grader.bundle import REFERENCE_DIR as REFERENCE_DIR  # re-exported: the older import path
from grader.errors import AssignmentError, UsageError
from grader.launch.base import DEFAULT_IMAGE, Limits
from grader.probes import course, families  # noqa: F401  (families: registers every probe)
from grader.probes.registry import REGISTRY, ParamValue, ProbeSpec
from grader.verdict import Tier

_TOP_KEYS = {
    "id", "title", "lab", "role", "suite", "entry", "command", "port", "reference",
    "readiness", "extra", "timeouts", "limits", "docker", "protocol", "probes", "description",
    "extra_probes",
}
_PROBE_KEYS = {"weight", "tier", "timeout", "params", "enabled", "hidden"}
_TIMEOUT_KEYS = {"startup", "reply"}
_LIMIT_KEYS = {"memory_mb", "processes", "cpus", "output_kb"}
_DOCKER_KEYS = {"image"}
#: What an assignment id may contain: it names files and prefixes every probe id.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, kw_only=True)
class ProbeConfig:
    """One probe as the assignment runs it: the registered spec plus overrides.

    ``id`` is the stable hierarchical id ``<assignment>/<category>/<name>``;
    ``params`` holds every declared parameter's value in force (the file's
    overrides over the probe's defaults).  ``hidden``: the probe counts, but
    student-facing reports show neither its name nor its evidence
    (:func:`grader.report.visibility.student_view`).
    """

    id: str
    spec: ProbeSpec
    weight: float
    tier: Tier
    timeout: float
    params: Mapping[str, ParamValue]
    hidden: bool = False

    @property
    def requirement(self) -> str:
        """The requirement text with the parameter values in force."""
        return self.spec.render(self.params)

    @property
    def summary(self) -> str:
        """The requirement's first sentence, with the parameter values in force."""
        text = self.requirement.strip()
        return text.split(". ", 1)[0].rstrip(".") if text else self.name

    @property
    def name(self) -> str:
        """``category/name``."""
        return self.spec.name

    @property
    def category(self) -> str:
        """The probe's category, e.g. ``echo``."""
        return self.spec.category


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """``startup``: seconds to wait for readiness; ``reply``: seconds to wait for an answer."""

    startup: float = 5.0
    reply: float = 2.0


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """A validated assignment (see the module docstring for the file format)."""

    id: str
    title: str
    lab: int | None
    role: str
    suite: str
    entry: str
    command: str
    port: int | None
    reference: str | None
    readiness: str
    extra: tuple[str, ...]
    timeouts: Timeouts
    limits: Limits
    image: str
    protocol: Mapping[str, Any]
    probes: tuple[ProbeConfig, ...]
    description: str
    source: Path = field(compare=False)

    @property
    def family(self) -> str:
        """The probe family the suite draws on (a family is its own)."""
        lab = REGISTRY.lab(self.suite)
        return lab.family if lab else self.suite

    def probe(self, name: str) -> ProbeConfig:
        """The configured probe ``category/name``; KeyError if not run by this assignment."""
        for config in self.probes:
            if config.name == name:
                return config
        raise KeyError(name)


def bundled() -> list[Path]:
    """The bundled assignment files, sorted by lab number then id."""
    paths = list(ASSIGNMENTS_DIR.glob("*.toml"))
    return sorted(paths, key=lambda p: (_peek_lab(p), p.stem))


def _peek_lab(path: Path) -> int:
    try:
        lab = tomllib.loads(path.read_text()).get("lab", 999)
        return int(lab) if isinstance(lab, int) else 999
    except (OSError, tomllib.TOMLDecodeError):
        return 999


def resolve(name_or_path: str) -> Path:
    """Find an assignment by bundled id or by file path.

    Raises :class:`UsageError` naming the known ids when neither matches.
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise UsageError(f"assignment file not found: {name_or_path}")
        return candidate
    bundled_path = ASSIGNMENTS_DIR / f"{name_or_path}.toml"
    if bundled_path.is_file():
        return bundled_path
    known = ", ".join(p.stem for p in bundled())
    raise UsageError(f"unknown assignment {name_or_path!r} (known: {known})")


def load(name_or_path: str) -> Assignment:
    """Load and validate an assignment by id or path.

    Raises :class:`UsageError` (not found) or :class:`AssignmentError` (invalid).
    """
    path = resolve(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AssignmentError(f"{path}: malformed TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AssignmentError(f"{path}: cannot read: {exc}") from None
    return parse(data, source=path)


class _Checker:
    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> AssignmentError:
        return AssignmentError(f"{self.source}: key '{key}': {reason}")

    def unknown(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def get(self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...],
            default: Any, prefix: str = "") -> Any:
        if key not in table:
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(prefix + key, f"expected {_kind_name(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise self.fail(prefix + key, f"expected {_kind_name(kinds)}, got {type(value).__name__}")
        return value

    def positive(self, table: Mapping[str, Any], key: str, default: float, prefix: str) -> float:
        value = float(self.get(table, key, (int, float), default, prefix))
        if value <= 0:
            raise self.fail(prefix + key, f"must be positive, got {value}")
        return value


def _dependency_order(configs: Sequence[ProbeConfig], check: _Checker) -> list[ProbeConfig]:
    """``configs`` (in the suite's order) reordered so each probe follows its dependencies.

    Stable: the suite's order is kept wherever the dependencies allow it (Kahn's
    algorithm, always taking the earliest ready probe).  A cycle raises
    AssignmentError naming it.
    """
    placed: set[str] = set()
    pending = list(configs)
    ordered: list[ProbeConfig] = []
    while pending:
        ready = next((c for c in pending if all(d in placed for d in c.spec.depends)), None)
        if ready is None:
            cycle = " -> ".join(c.name for c in pending)
            raise check.fail(f"probes.{pending[0].name}",
                             f"dependency cycle among probes: {cycle}")
        pending.remove(ready)
        placed.add(ready.name)
        ordered.append(ready)
    return ordered


def _params(spec: ProbeSpec, table: Mapping[str, Any], check: _Checker,
            prefix: str) -> dict[str, ParamValue]:
    """The file's ``params`` for ``spec``, each checked against the probe's declaration."""
    declared = {p.name: p for p in spec.params}
    values: dict[str, ParamValue] = {}
    for key, value in table.items():
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise check.fail(f"{prefix}params.{key}",
                             f"probe {spec.name!r} has no such parameter (it has: {known})")
        try:
            values[key] = declared[key].coerce(value)
        except ValueError as exc:
            raise check.fail(f"{prefix}params.{key}", str(exc)) from None
    return spec.values(values)


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a table", bool: "a boolean"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def parse(data: Mapping[str, Any], *, source: Path) -> Assignment:
    """Validate parsed TOML ``data`` into an :class:`Assignment`; raises AssignmentError."""
    check = _Checker(source)
    check.unknown(data, _TOP_KEYS, "")
    if "id" not in data:
        raise check.fail("id", "missing")
    ident = check.get(data, "id", str, "")
    if not _ID.fullmatch(ident):
        raise check.fail("id", f"must be letters, digits, '.', '_' or '-' (it prefixes every "
                               f"probe id and names report files), got {ident!r}")
    role = check.get(data, "role", str, "")
    if role not in ("server", "client"):
        raise check.fail("role", f"must be 'server' or 'client', got {role!r}")
    suite = check.get(data, "suite", str, "")
    if suite not in REGISTRY.suites():
        raise check.fail("suite", f"unknown suite {suite!r} (known: {', '.join(REGISTRY.suites())})")
    lab = check.get(data, "lab", int, None)
    port = check.get(data, "port", int, None)
    if port is not None and not 0 < port < 65536:
        raise check.fail("port", f"must be 1-65535, got {port}")
    readiness = check.get(data, "readiness", str, "udp" if suite.startswith("udp") else "tcp")
    if readiness not in ("tcp", "udp"):
        raise check.fail("readiness", f"must be 'tcp' or 'udp', got {readiness!r}")
    extra = check.get(data, "extra", list, [])
    if not all(isinstance(word, str) for word in extra):
        raise check.fail("extra", "every item must be a string")
    default_command = "python {entry} {host} {port}" + (" {message}" if role == "client" else "")
    command = check.get(data, "command", str, default_command)
    if "{entry}" not in command and not command.strip():
        raise check.fail("command", "must not be empty")

    timeouts_table = check.get(data, "timeouts", dict, {})
    check.unknown(timeouts_table, _TIMEOUT_KEYS, "timeouts.")
    timeouts = Timeouts(
        startup=check.positive(timeouts_table, "startup", Timeouts.startup, "timeouts."),
        reply=check.positive(timeouts_table, "reply", Timeouts.reply, "timeouts."),
    )
    limits_table = check.get(data, "limits", dict, {})
    check.unknown(limits_table, _LIMIT_KEYS, "limits.")
    base = Limits()
    limits = Limits(
        memory=int(check.positive(limits_table, "memory_mb", base.memory / 2**20, "limits.") * 2**20),
        processes=int(check.positive(limits_table, "processes", base.processes, "limits.")),
        cpus=check.positive(limits_table, "cpus", base.cpus, "limits."),
        output=int(check.positive(limits_table, "output_kb", base.output / 1024, "limits.") * 1024),
    )
    docker_table = check.get(data, "docker", dict, {})
    check.unknown(docker_table, _DOCKER_KEYS, "docker.")
    image = check.get(docker_table, "image", str, DEFAULT_IMAGE, "docker.")

    probes_table = check.get(data, "probes", dict, {})
    available = dict(REGISTRY.suite(suite))
    lab_suite = REGISTRY.lab(suite)
    extra_file = check.get(data, "extra_probes", str, None)
    if extra_file is not None:
        try:
            extras = course.load(source.parent / extra_file)
        except course.CourseProbeError as exc:
            raise AssignmentError(f"{source}: key 'extra_probes': {exc}") from None
        for spec in extras:
            if spec.name in available:
                raise check.fail("extra_probes", f"{extra_file} declares {spec.name!r}, which "
                                                 f"suite {suite!r} already has")
            available[spec.name] = spec
    for name, overrides in probes_table.items():
        if name not in available:
            where = (f"; its family {lab_suite.family!r} has it, but this lab's suite does "
                     f"not run it" if lab_suite and name in REGISTRY.family(suite) else "")
            raise check.fail(f"probes.{name}", f"no such probe in suite {suite!r}{where} "
                             f"(known: {', '.join(available)})")
        if not isinstance(overrides, dict):
            raise check.fail(f"probes.{name}", "expected a table")
        check.unknown(overrides, _PROBE_KEYS, f"probes.{name}.")
    configs = []
    disabled: set[str] = set()
    for name, spec in available.items():
        overrides = probes_table.get(name, {})
        prefix = f"probes.{name}."
        if not check.get(overrides, "enabled", bool, True, prefix):
            disabled.add(name)
            continue
        tier_text = check.get(overrides, "tier", str, spec.tier.value, prefix)
        try:
            tier = Tier(tier_text)
        except ValueError:
            raise check.fail(prefix + "tier", "must be 'required' or 'informational'") from None
        weight = float(check.get(overrides, "weight", (int, float), spec.weight, prefix))
        if weight < 0:
            raise check.fail(prefix + "weight", "must not be negative")
        configs.append(ProbeConfig(
            id=f"{ident}/{name}",
            spec=spec,
            weight=weight,
            tier=tier,
            timeout=check.positive(overrides, "timeout", spec.timeout, prefix),
            params=_params(spec, check.get(overrides, "params", dict, {}, prefix), check, prefix),
            hidden=check.get(overrides, "hidden", bool, False, prefix),
        ))
    if not configs:
        raise check.fail("probes", "every probe is disabled: nothing to grade")
    names = {c.name for c in configs}
    for config in configs:
        for dep in config.spec.depends:
            if dep not in names:
                why = "is disabled" if dep in disabled else "is not in this suite"
                raise check.fail(f"probes.{config.name}",
                                 f"depends on probe {dep!r}, which {why} (disable "
                                 f"{config.name!r} too, or enable {dep!r})")
    configs = _dependency_order(configs, check)
    protocol = {**(lab_suite.protocol if lab_suite else {}),
                **check.get(data, "protocol", dict, {})}
    return Assignment(
        id=ident,
        title=check.get(data, "title", str, ident),
        lab=lab,
        role=role,
        suite=suite,
        entry=check.get(data, "entry", str, "server.py" if role == "server" else "client.py"),
        command=command,
        port=port,
        reference=check.get(data, "reference", str, None),
        readiness=readiness,
        extra=tuple(extra),
        timeouts=timeouts,
        limits=limits,
        image=image,
        protocol=protocol,
        probes=tuple(configs),
        description=check.get(data, "description", str, ""),
        source=source,
    )
