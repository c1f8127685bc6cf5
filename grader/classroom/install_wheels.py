"""Install wheels by unpacking them into one folder: sockgrade's installer inside an autograder.

Theory of operation: shipped inside the Gradescope and PrairieLearn bundles
(:mod:`grader.classroom.autograder`) and run there with the image's own
``python3``, which may have no pip (Debian's python3 ships none; PEP 668
forbids installing into it anyway).  Every ``.whl`` in WHEELS is unpacked
into TARGET, as the wheel format specifies (PEP 427: ``*.data/purelib``
and ``platlib`` go to TARGET too; scripts, headers and data are not needed
to run ``python -m grader``).  TARGET then goes on ``PYTHONPATH``.  Works
offline: nothing is downloaded.  A wheel built for another interpreter or
machine (e.g. a ``cp311`` wheel on Python 3.12) is unpacked anyway with a
warning: pure-Python fallbacks (PyYAML) still work, and the bundle's smoke
test (``python -m grader list``) tells whether the whole stays importable.

Standard library only; imports nothing from ``grader`` (it runs before
sockgrade is installed).  Usage: ``python3 install_wheels.py WHEELS TARGET``;
exit status 0, or 2 with one line on stderr.
"""

from __future__ import annotations

import platform
import sys
import zipfile
from pathlib import Path


def compatible(filename: str) -> bool:
    """True when the wheel named ``filename`` suits this interpreter and machine (PEP 425 tags,
    simplified: py3/pyXY, cpXY or abi3 from cpXY up; ``any`` or a Linux tag of this machine)."""
    parts = filename[: -len(".whl")].split("-")
    if len(parts) < 5:
        return False
    pythons, abi, platforms = parts[-3].split("."), parts[-2], parts[-1].split(".")
    here = sys.version_info[:2]

    def python_ok(tag: str) -> bool:
        if tag in ("py3", "py2.py3") or tag == f"py{here[0]}{here[1]}":
            return True
        if tag.startswith("cp") and tag[2:].isdigit():
            version = (int(tag[2]), int(tag[3:]))
            return version == here or (abi == "abi3" and version <= here)
        return False

    machine = platform.machine()
    plat_ok = any(p == "any" or (p.endswith(machine) and "linux" in p) for p in platforms)
    return any(python_ok(t) for t in pythons) and plat_ok


def install(wheels: Path, target: Path) -> list[str]:
    """Unpack every wheel in ``wheels`` into ``target``; returns the warnings.

    Raises FileNotFoundError when ``wheels`` holds no wheel, OSError or
    zipfile.BadZipFile for an unreadable one.
    """
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise FileNotFoundError(f"no wheels in {wheels}")
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    warnings = []
    for wheel in found:
        if not compatible(wheel.name):
            warnings.append(f"warning: {wheel.name} was built for another Python or machine "
                            f"(this is Python {sys.version_info[0]}.{sys.version_info[1]} on "
                            f"{platform.machine()}); unpacked anyway")
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                name = member.filename
                head, _, rest = name.partition("/")
                if head.endswith(".data"):
                    kind, _, inner = rest.partition("/")
                    if kind not in ("purelib", "platlib") or not inner:
                        continue
                    name = inner
                if name.endswith("/"):
                    continue
                path = (root / name).resolve()
                if root not in path.parents:
                    raise OSError(f"{wheel.name}: member {member.filename!r} leaves the target")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.read(member))
    return warnings


def main(argv: list[str]) -> int:
    """``install_wheels.py WHEELS TARGET``: see the module docstring."""
    if len(argv) != 2:
        print("usage: install_wheels.py WHEELS TARGET", file=sys.stderr)
        return 2
    try:
        warnings = install(Path(argv[0]), Path(argv[1]))
    except (OSError, zipfile.BadZipFile) as exc:
        print(f"install_wheels: {exc}", file=sys.stderr)
        return 2
    for line in warnings:
        print(line, file=sys.stderr)
    print(f"installed {len(list(Path(argv[0]).glob('*.whl')))} wheels into {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
