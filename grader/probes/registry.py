"""The probe registry: plain functions registered by a decorator.

Theory of operation: a probe module declares each probe with
``@REGISTRY.probe(suite, "category/name", ...)`` (the model is check50's
``@check50.check``).  A *suite* is the family of probes one kind of program
answers to ("stream-echo" for every TCP echo server, "echo-client", ...);
an assignment picks a suite and the probes it runs, overriding weights,
tiers and timeouts as data.  The probe's docstring is the requirement the
student reads; its first line is the summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.verdict import Tier

if TYPE_CHECKING:
    from grader.context import ProbeContext

ProbeFunc = Callable[["ProbeContext"], None]


@dataclass(frozen=True, kw_only=True)
class ProbeSpec:
    """One registered probe.

    ``name`` is ``category/name``; ``timeout`` is in seconds; ``depends``
    names other probes of the same suite that must pass first; probes in
    another ``lane`` run concurrently against their own program instance.
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

    @property
    def category(self) -> str:
        """The part of the name before the slash, e.g. ``echo``."""
        return self.name.split("/", 1)[0]

    @property
    def summary(self) -> str:
        """The first sentence of the requirement."""
        text = self.requirement.strip()
        return text.split(". ", 1)[0].rstrip(".") if text else self.name


class Registry:
    """Probes by suite, in registration order."""

    def __init__(self) -> None:
        self._suites: dict[str, dict[str, ProbeSpec]] = {}

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
    ) -> Callable[[ProbeFunc], ProbeFunc]:
        """Register the decorated function as probe ``suite:name``.

        Raises ValueError on a duplicate name or a name without a category.
        """
        if "/" not in name:
            raise ValueError(f"probe name {name!r} must be 'category/name'")

        def register(func: ProbeFunc) -> ProbeFunc:
            probes = self._suites.setdefault(suite, {})
            if name in probes:
                raise ValueError(f"probe {suite}:{name} registered twice")
            probes[name] = ProbeSpec(
                suite=suite,
                name=name,
                func=func,
                requirement=" ".join((func.__doc__ or "").split()),
                weight=weight,
                tier=tier,
                timeout=timeout,
                depends=depends,
                lane=lane,
            )
            return func

        return register

    def suite(self, suite: str) -> dict[str, ProbeSpec]:
        """The probes of ``suite`` by name, in registration order; KeyError if unknown."""
        return self._suites[suite]

    def suites(self) -> list[str]:
        """Names of every registered suite."""
        return sorted(self._suites)


REGISTRY = Registry()
