"""Teachers' own probes: a Python file next to an assignment, loaded with it.

Theory of operation: an assignment file may name a probe file
(``extra_probes = "course_probes.py"``, relative to the assignment file).
The file is ordinary Python that declares probes with :func:`probe` (the
same arguments as the built-in registry's decorator, without the family)
and drives the program through the same :class:`~grader.context.ProbeContext`
the built-in probes get.  :func:`load` executes the file with a private
registry, so its probes join only the assignment that names it; they run
after the suite's own (each after its dependencies, which may be built-in
probes) and are reported like built-in ones.  Any error in the file
(syntax, an exception at import, a bad declaration) is reported with the
file's path and line.

Example::

    from grader.probes.course import probe
    from grader.verdict import ProbeFailed

    @probe("greeting/banner", depends=("startup/listens",))
    def banner(ctx):
        \"\"\"On connect the server sends our course's banner, 'HELLO'.\"\"\"
        with ctx.connect() as conn:
            got = conn.read_exactly(5, deadline=ctx.reply_deadline())
            if got.data != b"HELLO":
                raise ProbeFailed(f"banner was {got.data!r}", hint="send b'HELLO' first")
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from grader.probes.registry import Param, ProbeFunc, ProbeSpec, Registry
from grader.verdict import Tier

#: The family name course probes are registered under.
FAMILY = "course"
_lock = threading.Lock()
_active: Registry | None = None


class CourseProbeError(Exception):
    """A probe file could not be loaded; the message starts with ``path:line:``."""


def probe(
    name: str,
    *,
    weight: float = 1.0,
    tier: Tier = Tier.REQUIRED,
    timeout: float = 10.0,
    depends: tuple[str, ...] = (),
    lane: str = "main",
    params: tuple[Param, ...] = (),
) -> Callable[[ProbeFunc], ProbeFunc]:
    """Declare a course probe ``category/name`` (see :meth:`grader.probes.registry.Registry.probe`).

    Raises RuntimeError when called outside :func:`load` (a probe file is
    loaded by the assignment that names it, not imported).
    """
    if _active is None:
        raise RuntimeError("course probes are declared in a probe file that an assignment "
                           "loads (extra_probes = \"file.py\"), not imported directly")
    return _active.probe(FAMILY, name, weight=weight, tier=tier, timeout=timeout,
                         depends=depends, lane=lane, params=params)


def _line_in(path: Path, exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == path:
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return frames[-1].lineno if frames else None


def load(path: Path) -> list[ProbeSpec]:
    """Execute the probe file ``path`` and return its probes, in declaration order.

    Raises :class:`CourseProbeError` (``path:line: reason``) when the file is
    missing, does not compile, raises while loading, declares a probe badly
    or declares none.
    """
    global _active
    path = path.resolve()
    if not path.is_file():
        raise CourseProbeError(f"{path}: probe file not found")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(f"sockgrade_course_{digest}", path)
    if spec is None or spec.loader is None:
        raise CourseProbeError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    registry = Registry()
    with _lock:
        _active = registry
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # any error in a teacher's file is reported, not raised on
            line = _line_in(path, exc)
            where = f"{path}:{line}" if line else str(path)
            reason = exc.msg if isinstance(exc, SyntaxError) else f"{type(exc).__name__}: {exc}"
            raise CourseProbeError(f"{where}: {reason}") from None
        finally:
            _active = None
            sys.modules.pop(spec.name, None)
    try:
        probes = list(registry.suite(FAMILY).values())
    except KeyError:
        raise CourseProbeError(f"{path}: declares no probe (use @probe from "
                               f"grader.probes.course)") from None
    return probes
