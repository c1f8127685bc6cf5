"""Probes written once for every lab of one kind, registered under each lab's family.

Theory of operation: many labs share requirements whose only difference is
how a client talks to the server: "a client that resets leaves the server
serving the next one" holds for an echo server, a Caesar server and a file
server alike.  A *lab profile* (:class:`LabProfile`: :class:`~grader.probes.generic.ServerLab`
for TCP servers, :class:`~grader.probes.datagram.DatagramLab` for UDP
servers) describes that talk for one family.  A :class:`SharedProbes`
collection holds *makers*: each is declared once, with the probe's id, its
requirement text, timeout, lane and parameters next to it, and turns a
profile into the probe function.  :meth:`SharedProbes.register` registers the
chosen shared probes in the profile's family, with the requirement's
``{source}`` replaced by the profile's citation (its ``{param}``
placeholders stay for :meth:`~grader.probes.registry.ProbeSpec.render`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from grader.probes.registry import REGISTRY, Param, ProbeFunc


@dataclass(frozen=True, kw_only=True)
class LabProfile:
    """What every lab profile has: the ``suite`` (family) its shared probes join and the
    ``source`` citing the lab in requirement texts (e.g. ``"docs/labs.md §8"``)."""

    suite: str
    source: str


L = TypeVar("L", bound=LabProfile)
#: Turns a profile into the probe function.
Maker = Callable[[L], ProbeFunc]


@dataclass(frozen=True, kw_only=True)
class _Shared(Generic[L]):
    name: str
    make: Callable[[L], ProbeFunc]
    requirement: str
    timeout: float
    lane: str
    weight: float
    depends: Callable[[L], tuple[str, ...]] | None
    params: Callable[[L], tuple[Param, ...]]
    needs: Callable[[L], str | None]


def _no_params(_lab: object) -> tuple[Param, ...]:
    return ()


def _no_needs(_lab: object) -> str | None:
    return None


class SharedProbes(Generic[L]):
    """A collection of shared probes for one kind of lab profile ``L``.

    ``default_depends`` gives the dependencies of a shared probe that names
    none (typically the profile's basic request).
    """

    def __init__(self, default_depends: Callable[[L], tuple[str, ...]]) -> None:
        self._shared: dict[str, _Shared[L]] = {}
        self._default_depends = default_depends

    def probe(
        self,
        name: str,
        *,
        requirement: str,
        timeout: float = 10.0,
        lane: str = "main",
        weight: float = 1.0,
        depends: Callable[[L], tuple[str, ...]] | None = None,
        params: Callable[[L], tuple[Param, ...]] = _no_params,
        needs: Callable[[L], str | None] = _no_needs,
    ) -> Callable[[Callable[[L], ProbeFunc]], Callable[[L], ProbeFunc]]:
        """Declare the shared probe ``name`` made by the decorated maker.

        ``requirement`` may use ``{source}`` (the profile's citation) and the
        probe's ``{param}`` placeholders; ``timeout`` is in seconds; ``needs``
        returns why a profile cannot have this probe (a missing hook), or None.
        Raises ValueError when ``name`` is declared twice.
        """
        def declare(make: Callable[[L], ProbeFunc]) -> Callable[[L], ProbeFunc]:
            if name in self._shared:
                raise ValueError(f"shared probe {name!r} declared twice")
            self._shared[name] = _Shared(name=name, make=make, requirement=requirement,
                                         timeout=timeout, lane=lane, weight=weight,
                                         depends=depends, params=params, needs=needs)
            return make

        return declare

    def names(self) -> tuple[str, ...]:
        """Every declared shared probe, in declaration order."""
        return tuple(self._shared)

    def register(self, lab: L, which: Iterable[str]) -> None:
        """Register the shared probes named in ``which`` in ``lab.suite``.

        Raises ValueError for an unknown name, a profile missing what a probe
        needs, or a name already registered in the family.
        """
        for name in which:
            shared = self._shared.get(name)
            if shared is None:
                raise ValueError(f"no shared probe {name!r} (known: {', '.join(self._shared)})")
            missing = shared.needs(lab)
            if missing:
                raise ValueError(f"{name} needs {missing}")
            depends = (shared.depends or self._default_depends)(lab)
            REGISTRY.probe(lab.suite, name, weight=shared.weight, timeout=shared.timeout,
                           depends=depends, lane=shared.lane, params=shared.params(lab),
                           requirement=shared.requirement.replace("{source}", lab.source),
                           )(shared.make(lab))
