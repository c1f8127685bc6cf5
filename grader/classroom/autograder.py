"""Autograder bundles: ``sockgrade gradescope`` and ``sockgrade prairielearn``.

Theory of operation: both platforms run a script of ours in a container of
theirs for every submission.  A bundle carries everything that script needs,
so the container never reaches a package index:

* ``wheels/``: a wheel of sockgrade and of each dependency, built with
  ``python -m pip wheel`` (from the source tree sockgrade runs from, or from
  ``--wheel``, a sockgrade wheel you built);
* ``install_wheels.py`` (:mod:`grader.classroom.install_wheels`): unpacks
  them into one folder with the image's own ``python3`` (no pip needed);
* ``assignment/<file>.toml``: the assignment, as a file, plus its
  ``extra_probes`` module when it names one;
* the entry script.

**Gradescope** (``--out autograder.zip``; layout of Gradescope's "Autograder
Specifications"): ``setup.sh`` (run once, as root, when Gradescope builds
the image: picks a Python >= 3.11, installing ``python3.11`` with apt when
the image has none, unpacks the wheels into ``/autograder/source/sockgrade/site``
and smoke-tests ``python -m grader list``) and ``run_autograder`` (each
submission: ``sockgrade check`` on ``/autograder/submission`` writing
``/autograder/results/results.json``, hidden probes in full under their
``visibility``).  **PrairieLearn** (``--out DIR``, to copy into the course's
``serverFilesCourse/``): ``run.sh``, the external-grading entrypoint (student
files in ``/grade/student``, results to ``/grade/results/results.json``),
which unpacks the wheels into a temporary folder unless the image already
has sockgrade at ``$SOCKGRADE_SITE`` (default ``/opt/sockgrade/site``; the
``Dockerfile`` written beside it builds such an image), and ``README.md``
with the ``info.json`` lines.

When sockgrade itself cannot grade (exit status 2 and no results file, e.g. a
submission with no program in it), the script writes a results file saying
why: Gradescope gets score 0 with the message (the teacher regrades a grader
fault), PrairieLearn ``gradable: false`` (no attempt charged).

The dependency wheels are those of the Python that builds the bundle: build
it with the Python version of the target image (compiled wheels such as
PyYAML's fall back to pure Python elsewhere; ``install_wheels.py`` warns).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

import grader
from grader.assignment import Assignment, load
from grader.classroom import install_wheels
from grader.errors import UsageError

#: Seconds ``pip wheel`` may take (it may download the dependencies once).
PIP_TIMEOUT = 900
#: Folder of the project sockgrade runs from, when it runs from a source tree.
PROJECT = Path(grader.__file__).resolve().parent.parent
#: Timestamp of every zip member, so the same inputs give the same bundle bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
#: Project folders a wheel build does not need.
_NOT_BUILT = shutil.ignore_patterns(".git", "tests", "benchmarks", "build", "dist", "*.egg-info",
                                    "__pycache__", ".venv", ".*_cache", "sockgrade-out")

_PICK_PYTHON = r'''pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}'''

SETUP_SH = r'''#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs sockgrade from the wheels in this zip, offline.
set -euo pipefail
KIT=/autograder/source/sockgrade
{pick}
if ! PY="$(pick_python)"; then
  apt-get install -y --no-install-recommends python3.11   # Gradescope ran apt-get update
  PY="$(pick_python)"
fi
echo "$PY" > "$KIT/python"
"$PY" "$KIT/install_wheels.py" "$KIT/wheels" "$KIT/site"
PYTHONPATH="$KIT/site" "$PY" -m grader list "$KIT/assignment/{assignment}" >/dev/null
echo "sockgrade ready: $("$PY" --version), assignment {assignment}"
'''

RUN_AUTOGRADER = r'''#!/usr/bin/env bash
# Gradescope runs this for every submission (working folder /autograder).
set -uo pipefail
KIT=/autograder/source/sockgrade
PY="$(cat "$KIT/python")"
RESULTS=/autograder/results/results.json
mkdir -p /autograder/results
rm -f "$RESULTS"
PYTHONPATH="$KIT/site" NO_COLOR=1 "$PY" -m grader check "$KIT/assignment/{assignment}" \
  /autograder/submission --show-hidden --hidden-visibility {visibility} \
  --gradescope "$RESULTS" 2>/tmp/sockgrade.stderr
status=$?
cat /tmp/sockgrade.stderr >&2
if [ ! -s "$RESULTS" ]; then
  "$PY" - "$status" "$RESULTS" <<'EOF'
import json, sys
why = open("/tmp/sockgrade.stderr", encoding="utf-8", errors="replace").read().strip()
text = ("sockgrade could not grade this submission (exit status " + sys.argv[1] + "): "
        + (why or "no message") + "\nIf it names a missing program, hand in your program; "
        "otherwise it is a grader fault: ask your teacher to regrade.")
json.dump({"score": 0.0, "output": text, "output_format": "text",
           "extra_data": {"format": "sockgrade-gradescope/1", "status": "error"},
           "tests": []}, open(sys.argv[2], "w"), indent=2)
EOF
fi
exit 0
'''

RUN_SH = r'''#!/usr/bin/env bash
# PrairieLearn external-grading entrypoint: student files in /grade/student,
# results to /grade/results/results.json.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RESULTS=/grade/results/results.json
mkdir -p /grade/results
{pick}
fail() {
  "$PY" - "$1" "$RESULTS" <<'EOF'
import json, sys
json.dump({"gradable": False, "score": 0.0, "message": sys.argv[1], "output": sys.argv[1],
           "tests": []}, open(sys.argv[2], "w"), indent=2)
EOF
  exit 0
}
if ! PY="$(pick_python)"; then
  printf '%s\n' '{"gradable": false, "score": 0.0, "output": "", "tests": [],' \
    '"message": "the grading image has no Python 3.11 or later"}' > "$RESULTS"
  exit 0
fi
SITE="${SOCKGRADE_SITE:-/opt/sockgrade/site}"
if ! PYTHONPATH="$SITE" "$PY" -c 'import grader' 2>/dev/null; then
  SITE="$(mktemp -d)/site"
  "$PY" "$HERE/install_wheels.py" "$HERE/wheels" "$SITE" >&2 || fail "the grader could not be installed"
fi
PYTHONPATH="$SITE" NO_COLOR=1 "$PY" -m grader check "$HERE/assignment/{assignment}" \
  /grade/student --prairielearn "$RESULTS" 2>/tmp/sockgrade.stderr
status=$?
cat /tmp/sockgrade.stderr >&2
if [ ! -s "$RESULTS" ]; then
  fail "sockgrade could not grade this submission (exit status $status):
$(tail -c 2000 /tmp/sockgrade.stderr)"
fi
exit 0
'''

DOCKERFILE = '''# An external-grading image with sockgrade already installed (optional: run.sh
# installs it into a temporary folder on each grading when the image lacks it).
FROM {image}
COPY wheels /opt/sockgrade/wheels
COPY install_wheels.py /opt/sockgrade/
RUN python3 /opt/sockgrade/install_wheels.py /opt/sockgrade/wheels /opt/sockgrade/site
'''

PL_README = '''# sockgrade for PrairieLearn: {title}

Copy this folder to your course as `serverFilesCourse/sockgrade/` and give the
question an `info.json` with:

```json
"gradingMethod": "External",
"externalGradingOptions": {{
  "enabled": true,
  "image": "{image}",
  "serverFilesCourse": ["sockgrade/"],
  "entrypoint": "/grade/serverFilesCourse/sockgrade/run.sh",
  "timeout": 300
}}
```

The student's files (e.g. `{entry}`) arrive in `/grade/student`; `run.sh`
writes `/grade/results/results.json`.  The image needs Python 3.11 or later;
`Dockerfile` builds one with sockgrade preinstalled.
'''


def _extra_probes(assignment: Assignment) -> str | None:
    data = tomllib.loads(assignment.source.read_text(encoding="utf-8"))
    value = data.get("extra_probes")
    return value if isinstance(value, str) else None


def build_wheels(dest: Path, *, wheel: Path | None = None, python: str = sys.executable) -> list[Path]:
    """Wheels of sockgrade and every dependency in ``dest`` (``pip wheel``); returns them.

    ``wheel``: a sockgrade wheel to start from; else sockgrade's source tree
    (:data:`PROJECT`), copied first so the build leaves nothing in it.
    Raises UsageError when neither is available or pip fails (its last lines).
    """
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sockgrade-wheel-") as scratch:
        if wheel is not None:
            if not wheel.is_file() or wheel.suffix != ".whl":
                raise UsageError(f"--wheel: not a wheel file: {wheel}")
            target = str(wheel.resolve())
        elif (PROJECT / "pyproject.toml").is_file():
            target = str(Path(scratch) / "src")
            shutil.copytree(PROJECT, target, ignore=_NOT_BUILT)
        else:
            raise UsageError("sockgrade is not running from its source tree: build a wheel "
                             "(python -m build) and pass it with --wheel")
        try:
            done = subprocess.run([python, "-m", "pip", "wheel", "--quiet", "--wheel-dir",
                                   str(dest), target], capture_output=True, text=True,
                                  timeout=PIP_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UsageError(f"pip wheel failed: {exc}") from None
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-5:])
            raise UsageError(f"pip wheel failed (status {done.returncode}): {tail}")
    wheels = sorted(dest.glob("*.whl"))
    if not any(w.name.startswith("sockgrade-") for w in wheels):
        raise UsageError(f"pip wheel made no sockgrade wheel in {dest}")
    return wheels


def stage_kit(assignment: Assignment, kit: Path, wheels: Path) -> str:
    """Fill ``kit`` with the wheels, the installer and the assignment file; returns the
    assignment's file name.  Raises UsageError for an ``extra_probes`` path outside the
    assignment's folder."""
    (kit / "wheels").mkdir(parents=True, exist_ok=True)
    for wheel in sorted(wheels.glob("*.whl")):
        shutil.copy2(wheel, kit / "wheels" / wheel.name)
    shutil.copy2(install_wheels.__file__, kit / "install_wheels.py")
    folder = kit / "assignment"
    folder.mkdir(exist_ok=True)
    shutil.copy2(assignment.source, folder / assignment.source.name)
    extra = _extra_probes(assignment)
    if extra is not None:
        relative = Path(extra)
        if relative.is_absolute() or ".." in relative.parts:
            raise UsageError(f"extra_probes {extra!r}: must be a path inside the assignment's "
                             "folder to be bundled")
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(assignment.source.parent / relative, folder / relative)
    return assignment.source.name


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_gradescope(assignment: Assignment, out: Path, wheels: Path, *,
                     visibility: str = "hidden") -> Path:
    """Write the Gradescope autograder zip for ``assignment`` to ``out``; returns ``out``.

    ``wheels``: folder of sockgrade's and its dependencies' wheels
    (:func:`build_wheels`); ``visibility``: Gradescope visibility of the
    hidden probes' tests.  Raises OSError when ``out`` cannot be written.
    """
    with tempfile.TemporaryDirectory(prefix="sockgrade-gradescope-") as scratch:
        kit = Path(scratch) / "sockgrade"
        name = stage_kit(assignment, kit, wheels)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w") as archive:
            _add(archive, "setup.sh", SETUP_SH.replace("{pick}", _PICK_PYTHON)
                 .replace("{assignment}", name).encode(), 0o755)
            _add(archive, "run_autograder", RUN_AUTOGRADER.replace("{assignment}", name)
                 .replace("{visibility}", visibility).encode(), 0o755)
            for path in sorted(kit.rglob("*")):
                if path.is_file():
                    _add(archive, str(path.relative_to(scratch)), path.read_bytes(), 0o644)
        partial.chmod(0o644)
        partial.replace(out)
    return out


def build_prairielearn(assignment: Assignment, out: Path, wheels: Path, *,
                       image: str = "python:3.11-slim") -> Path:
    """Write the PrairieLearn external-grading folder for ``assignment`` into ``out``.

    ``image``: the grading image named in the README and the Dockerfile's
    base.  Replaces an earlier bundle in ``out``; raises UsageError when
    ``out`` exists and is not such a bundle, OSError when it cannot be written.
    """
    if out.exists() and any(out.iterdir()) and not (out / "run.sh").is_file():
        raise UsageError(f"--out {out}: exists and is not a sockgrade PrairieLearn folder")
    shutil.rmtree(out, ignore_errors=True)
    name = stage_kit(assignment, out, wheels)
    entry = out / "run.sh"
    entry.write_text(RUN_SH.replace("{pick}", _PICK_PYTHON).replace("{assignment}", name))
    entry.chmod(0o755)
    (out / "Dockerfile").write_text(DOCKERFILE.format(image=image))
    (out / "README.md").write_text(PL_README.format(title=assignment.title, image=image,
                                                    entry=assignment.entry))
    return out


def _build_bundle(args: argparse.Namespace, build: Callable[[Assignment, Path, Path], object]
                  ) -> tuple[Assignment, Path, int]:
    """Build wheels in a temporary folder and ``build(assignment, out, wheels)``; returns the
    assignment, ``--out`` and the wheel count.  Raises UsageError when ``--out`` cannot be written."""
    assignment = load(args.assignment)
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="sockgrade-wheels-") as folder:
        wheels = build_wheels(Path(folder), wheel=Path(args.wheel) if args.wheel else None)
        try:
            build(assignment, out, Path(folder))
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc}") from None
    return assignment, out, len(wheels)


def cmd_gradescope(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade gradescope ASSIGNMENT --out autograder.zip``."""
    assignment, out, count = _build_bundle(args, lambda a, o, w: build_gradescope(
        a, o, w, visibility=args.hidden_visibility))
    console.print(f"wrote {out}: Gradescope autograder for {assignment.id} ({count} "
                  f"wheels); upload it as the assignment's autograder (Ubuntu image)",
                  markup=False, highlight=False)
    return 0


def cmd_prairielearn(args: argparse.Namespace, console: Console) -> int:
    """``sockgrade prairielearn ASSIGNMENT --out DIR``."""
    assignment, out, count = _build_bundle(args, lambda a, o, w: build_prairielearn(
        a, o, w, image=args.image))
    console.print(f"wrote {out}/: PrairieLearn external grader for {assignment.id} "
                  f"({count} wheels); see {out / 'README.md'}", markup=False,
                  highlight=False)
    return 0
