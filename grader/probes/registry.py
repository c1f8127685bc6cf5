"""The probe registry: plain functions registered by a decorator, grouped into suites.

Theory of operation: a probe module declares each probe with
``@REGISTRY.probe(family, "category/name", ...)`` (the model is check50's
``@check50.check``).  A *family* is the set of probes one kind of
conversation answers to ("stream-echo" for every TCP echo server,
"echo-client", ...).  A probe declares its settings once, as :class:`Param`
values (name, default, unit, meaning); an assignment file may override them,
and the loader checks every override against the declaration.  The probe's
docstring is the requirement the student reads: its ``{name}`` placeholders
are filled with the values in force (:meth:`ProbeSpec.render`).

A *suite* is what one lab runs.  A family is itself a suite (all of its
probes); :meth:`Registry.lab_suite` defines a lab's suite as a view of a
family: the probes whose names match its include globs and none of its
exclude globs, with the lab's tier overrides and ``[protocol]`` defaults.
Because views select by glob (``"echo/*"``), a probe added to a family joins
every lab suite whose globs match it: adding a probe is one function in one
file, and no assignment file needs an edit to run it.  Run order is the lab
suite's (its include globs in order, then registration order), rearranged
only where a dependency demands (a stable topological order), never the
order of an assignment file.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from grader.verdict import Tier

if TYPE_CHECKING:
    from grader.context import ProbeContext

ProbeFunc = Callable[["ProbeContext"], None]
#: The value types a probe parameter may have (TOML integers, floats, booleans, strings,
#: arrays of integers).
ParamValue = int | float | bool | str | tuple[int, ...]

_UNITS = ("bytes", "seconds", "share", "count", "")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale:,} {unit}"
    return f"{n:,} bytes"


@dataclass(frozen=True)
class Param:
    """One setting of a probe, declared once next to the probe.

    ``default``'s type is the parameter's type (an ``int`` default also takes
    no float; a ``float`` default also takes a TOML integer; a tuple default
    is an array of integers).  ``unit`` is one of ``bytes``, ``seconds``,
    ``share`` (a fraction, shown as a percentage), ``count`` or ``""``;
    ``meaning`` is one line for ``sockgrade list ID``.
    """

    name: str
    default: ParamValue
    unit: str
    meaning: str

    def __post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise ValueError(f"param {self.name!r}: unit must be one of {_UNITS}")

    @property
    def kind(self) -> str:
        """The type's name as an assignment author reads it."""
        if isinstance(self.default, bool):
            return "a boolean"
        if isinstance(self.default, int):
            return "an integer"
        if isinstance(self.default, float):
            return "a number"
        if isinstance(self.default, str):
            return "a string"
        return "an array of integers"

    def coerce(self, value: object) -> ParamValue:
        """``value`` from a TOML file as this parameter's type; ValueError(reason) if it is not."""
        wanted = self.default
        if isinstance(wanted, bool):
            ok = isinstance(value, bool)
        elif isinstance(wanted, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(wanted, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif isinstance(wanted, str):
            ok = isinstance(value, str)
        else:
            ok = isinstance(value, list | tuple) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value)
        if not ok:
            raise ValueError(f"expected {self.kind}, got {type(value).__name__} {value!r}")
        if isinstance(wanted, float):
            assert isinstance(value, int | float)
            value = float(value)
        if isinstance(value, list | tuple):
            value = tuple(value)
        assert isinstance(value, int | float | bool | str | tuple)
        if self.unit in ("bytes", "seconds", "count") and not isinstance(value, str | tuple) \
                and value < 0:
            raise ValueError(f"must not be negative, got {value!r}")
        return value

    def show(self, value: ParamValue) -> str:
        """``value`` in words: ``16 MiB``, ``0.5 s``, ``5%``, ``1,000``."""
        if isinstance(value, tuple):
            return ", ".join(_size(v) if self.unit == "bytes" else f"{v:,}" for v in value)
        if isinstance(value, (bool, str)):
            return str(value).lower() if isinstance(value, bool) else value
        if self.unit == "bytes":
            return _size(int(value))
        if self.unit == "seconds":
            return f"{value:g} s"
        if self.unit == "share":
            return f"{value:.0%}"
        return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True, kw_only=True)
class ProbeSpec:
    """One registered probe.

    ``name`` is ``category/name``; ``timeout`` is in seconds; ``depends``
    names other probes of the same family that must pass first; probes in
    another ``lane`` run concurrently against their own program instance;
    ``params`` are its declared settings.  ``requirement`` may hold ``{param}``
    placeholders (see :meth:`render`).
    """

    suite: str
    name: str
    func: ProbeFunc
    requirement: str
    weight: float
    tier: Tier
    timeout: float
    depends: tuple[str, ...]
    lane: str
    params: tuple[Param, ...] = ()

    @property
    def category(self) -> str:
        """The part of the name before the slash, e.g. ``echo``."""
        return self.name.split("/", 1)[0]

    @property
    def summary(self) -> str:
        """The first sentence of the requirement, with the default settings."""
        text = self.render({}).strip()
        return text.split(". ", 1)[0].rstrip(".") if text else self.name

    def param(self, name: str) -> Param:
        """The declared parameter ``name``; KeyError if the probe has none by that name."""
        for declared in self.params:
            if declared.name == name:
                return declared
        raise KeyError(name)

    def values(self, overrides: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
        """Every declared parameter's value: ``overrides`` (already checked) over the defaults."""
        return {p.name: overrides.get(p.name, p.default) for p in self.params}

    def render(self, overrides: Mapping[str, ParamValue]) -> str:
        """The requirement text with each ``{param}`` replaced by its value in force, in words."""
        values = self.values(overrides)

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                return match.group(0)
            return self.param(name).show(values[name])

        return _PLACEHOLDER.sub(fill, self.requirement)


@dataclass(frozen=True, kw_only=True)
class LabSuite:
    """A lab's suite: a view of a family (see the module docstring).

    ``include``/``exclude`` are :mod:`fnmatch` globs over probe names;
    ``tiers`` and ``weights`` override the family's defaults by probe name;
    ``protocol`` gives ``[protocol]`` defaults an assignment file may override.
    """

    name: str
    family: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    tiers: Mapping[str, Tier] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)
    protocol: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def rank(self, name: str) -> int:
        """The index of the first include glob ``name`` matches: the lab's order of categories."""
        return next((i for i, g in enumerate(self.include) if fnmatch.fnmatchcase(name, g)),
                    len(self.include))

    def selects(self, name: str) -> bool:
        """True when the probe ``name`` of the family belongs to this suite."""
        return (any(fnmatch.fnmatchcase(name, g) for g in self.include)
                and not any(fnmatch.fnmatchcase(name, g) for g in self.exclude))


class Registry:
    """Probes by family, in registration order, and the lab suites built on them."""

    def __init__(self) -> None:
        self._families: dict[str, dict[str, ProbeSpec]] = {}
        self._labs: dict[str, LabSuite] = {}

    def probe(
        self,
        suite: str,
        name: str,
        *,
        weight: float = 1.0,
        tier: Tier = Tier.REQUIRED,
        timeout: float = 10.0,
        depends: tuple[str, ...] = (),
        lane: str = "main",
        params: tuple[Param, ...] = (),
        requirement: str | None = None,
    ) -> Callable[[ProbeFunc], ProbeFunc]:
        """Register the decorated function as probe ``name`` of the family ``suite``.

        The requirement is ``requirement`` if given, else the function's docstring.
        Raises ValueError on a duplicate name, a name without a category, a
        duplicate parameter or a ``{placeholder}`` that names no parameter.
        """
        if "/" not in name:
            raise ValueError(f"probe name {name!r} must be 'category/name'")
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ValueError(f"probe {suite}:{name} declares a parameter twice")

        def register(func: ProbeFunc) -> ProbeFunc:
            probes = self._families.setdefault(suite, {})
            if name in probes:
                raise ValueError(f"probe {suite}:{name} registered twice")
            text = " ".join((requirement if requirement is not None else func.__doc__ or "").split())
            for placeholder in _PLACEHOLDER.findall(text):
                if placeholder not in names:
                    raise ValueError(f"probe {suite}:{name}: requirement names {{{placeholder}}}, "
                                     f"which is not a declared parameter")
            if requirement is not None:
                func.__doc__ = requirement
            probes[name] = ProbeSpec(
                suite=suite, name=name, func=func, requirement=text, weight=weight, tier=tier,
                timeout=timeout, depends=depends, lane=lane, params=params,
            )
            return func

        return register

    def lab_suite(self, lab: LabSuite) -> None:
        """Define a lab's suite as a view of a family; ValueError if its name is taken."""
        if lab.name in self._labs or lab.name in self._families:
            raise ValueError(f"suite {lab.name!r} defined twice")
        self._labs[lab.name] = lab

    def lab(self, suite: str) -> LabSuite | None:
        """The lab suite named ``suite``, or None when it is a family (or unknown)."""
        return self._labs.get(suite)

    def suite(self, suite: str) -> dict[str, ProbeSpec]:
        """The probes ``suite`` runs by name, in run order; KeyError if unknown.

        For a lab suite: the family's probes it selects, with its tier and
        weight overrides, ordered by the first include glob each matches, then
        by registration.  (The assignment loader then moves a probe after its
        dependencies where this order does not already.)
        """
        view = self._labs.get(suite)
        if view is None:
            return self._families[suite]
        family = self._families[view.family]
        chosen = [name for name in family if view.selects(name)]
        chosen.sort(key=view.rank)  # stable: registration order within one glob
        return {name: replace(family[name], tier=view.tiers.get(name, family[name].tier),
                              weight=view.weights.get(name, family[name].weight))
                for name in chosen}

    def family(self, suite: str) -> dict[str, ProbeSpec]:
        """Every probe of the family ``suite`` belongs to (a family is its own); KeyError if unknown."""
        view = self._labs.get(suite)
        return self._families[view.family if view else suite]

    def suites(self) -> list[str]:
        """Names of every suite: families and lab suites."""
        return sorted({*self._families, *self._labs})

    def families(self) -> list[str]:
        """Names of every family."""
        return sorted(self._families)


REGISTRY = Registry()
