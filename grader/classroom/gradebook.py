"""The batch's outputs for a whole class: gradebook, combined JUnit, summary, shard merge.

Theory of operation: each graded student leaves a JSON report (the
``sockgrade-result/1`` format plus a ``batch`` section naming the student)
and a JUnit file.  A :class:`Row` is read back from that JSON, so rows of
students graded in an earlier, interrupted run (``--resume``) and fresh
ones are built the same way.  From the rows come the gradebook CSV (one row
per submission, sorted by student), the summary (status counts, score
distribution, the probes failed most often) and the manifest
``batch[.shard-I-of-N].json``, which records the options, how many
submissions the whole folder holds and a digest of their ids, so
:func:`merge` can prove that the shards it joins are the complete,
non-overlapping slices of one batch.  The combined JUnit file is the
``<testsuite>`` elements of the per-student (or per-shard) files under one
``<testsuites>`` root.  Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.report.files import write_atomic

#: Format tag of the manifest.
MANIFEST_FORMAT = "sockgrade-batch/1"
#: Gradebook columns, in order (the first seven are the documented core).
COLUMNS = ("student", "score", "max", "passed", "failed", "errors", "status",
           "skipped", "name", "export", "source", "note")


@dataclass(frozen=True, kw_only=True)
class Row:
    """One submission's line in the gradebook.

    ``score``/``max_score`` are probe weights; ``passed``..``skipped`` count
    probes; ``status`` is "passed", "failed" or "error"; ``note`` explains
    rows that were not graded normally (nothing to run, a grader fault);
    ``failed_probes`` lists ``category/name`` of failed probes; ``report``
    is the file stem of the student's reports; ``probes`` pairs each probe's
    ``category/name`` with its outcome ("passed", "failed", "error",
    "skipped", or "advice" for a failed informational probe), in run order
    (the ``--wide`` columns).
    """

    student: str
    name: str
    export: str
    source: str
    score: float
    max_score: float
    passed: int
    failed: int
    errors: int
    skipped: int
    status: str
    note: str
    failed_probes: tuple[str, ...]
    report: str
    probes: tuple[tuple[str, str], ...] = ()

    def csv_values(self) -> list[str]:
        """The row's cells in :data:`COLUMNS` order."""
        return [self.student, f"{self.score:g}", f"{self.max_score:g}", str(self.passed),
                str(self.failed), str(self.errors), self.status, str(self.skipped),
                self.name, self.export, self.source, self.note]

    @property
    def percent(self) -> float | None:
        """Score as a percentage of the maximum, None when nothing counted (max 0)."""
        return 100.0 * self.score / self.max_score if self.max_score > 0 else None


def row_from_report(data: Mapping[str, Any]) -> Row:
    """A :class:`Row` from a per-student JSON report; raises KeyError/TypeError if malformed."""
    batch = data["batch"]
    counts = data["counts"]
    failed = tuple(f"{p['category']}/{p['name']}" for p in data["probes"]
                   if p["outcome"] == "failed" and p.get("tier") != "informational")
    return Row(student=str(batch["student"]), name=str(batch["name"]),
               export=str(batch["export"]), source=str(batch["source"]),
               score=float(data["score"]), max_score=float(data["max_score"]),
               passed=int(counts["passed"]), failed=int(counts["failed"]),
               errors=int(counts["error"]), skipped=int(counts["skipped"]),
               status=str(data["status"]), note=str(batch.get("note", "")),
               failed_probes=failed, report=str(batch["report"]),
               probes=tuple((f"{p['category']}/{p['name']}",
                             "advice" if p["outcome"] == "failed"
                             and p.get("tier") == "informational" else str(p["outcome"]))
                            for p in data["probes"]))


def row_to_dict(row: Row) -> dict[str, Any]:
    """JSON-ready mapping of a row (for the manifest)."""
    out = asdict(row)
    out["failed_probes"] = list(row.failed_probes)
    out["probes"] = [list(pair) for pair in row.probes]
    return out


def row_from_dict(data: Mapping[str, Any]) -> Row:
    """Inverse of :func:`row_to_dict`."""
    values = dict(data)
    values["failed_probes"] = tuple(values.get("failed_probes", ()))
    values["probes"] = tuple((str(name), str(outcome))
                             for name, outcome in values.get("probes", ()))
    return Row(**values)


def probe_columns(rows: Iterable[Row]) -> list[str]:
    """The ``--wide`` columns: every probe's ``category/name``, in run order (first seen)."""
    seen: dict[str, None] = {}
    for row in sorted(rows, key=lambda r: -len(r.probes)):  # the fullest run sets the order
        for name, _ in row.probes:
            seen.setdefault(name, None)
    return list(seen)


def gradebook_csv(rows: Iterable[Row], *, wide: bool = False) -> str:
    """The gradebook as CSV text (header, then rows sorted by student).

    ``wide`` adds a column per probe (:func:`probe_columns`) holding its outcome
    for that student, empty when the probe did not run for them.  Hidden
    probes appear under their real names: the gradebook is the teacher's.
    """
    rows = sorted(rows, key=lambda r: r.student)
    extra = probe_columns(rows) if wide else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, *extra])
    for row in rows:
        outcomes = dict(row.probes)
        writer.writerow([*row.csv_values(), *(outcomes.get(name, "") for name in extra)])
    return buffer.getvalue()


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """The gradebook CSV at ``path`` as dicts (for tools and tests)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- summary ------------------------------------------------------------------


def _bucket(percent: float) -> str:
    if percent >= 100.0:
        return "100%"
    low = int(percent // 10) * 10
    return f"{low}-{low + 9}%"


#: Distribution buckets, best first.
BUCKETS = ("100%", *(f"{low}-{low + 9}%" for low in range(90, -1, -10)))


def summarize(rows: Sequence[Row], *, top: int = 10) -> dict[str, Any]:
    """Status counts, score statistics and distribution, most failed probes, error rows.

    Percentages are of each row's own maximum; error rows with nothing
    counted (max 0) are left out of the score statistics.
    """
    percents = [p for r in rows if (p := r.percent) is not None]
    status = Counter(r.status for r in rows)
    failing = Counter(probe for r in rows for probe in r.failed_probes)
    graded = len(rows)
    return {
        "submissions": graded,
        "status": {s: status.get(s, 0) for s in ("passed", "failed", "error")},
        "score": {
            "mean_percent": round(statistics.fmean(percents), 1) if percents else None,
            "median_percent": round(statistics.median(percents), 1) if percents else None,
            "min_percent": round(min(percents), 1) if percents else None,
            "max_percent": round(max(percents), 1) if percents else None,
        },
        "distribution": [{"range": b, "count": sum(1 for p in percents if _bucket(p) == b)}
                         for b in BUCKETS],
        "most_failed": [{"probe": probe, "students": n,
                         "percent": round(100.0 * n / graded, 1) if graded else 0.0}
                        for probe, n in sorted(failing.items(), key=lambda kv: (-kv[1], kv[0]))
                        [:top]],
        "errors": [{"student": r.student, "note": r.note} for r in rows if r.status == "error"],
    }


def summary_lines(summary: Mapping[str, Any], *, width: int = 30) -> list[str]:
    """The summary as plain text lines (console and Markdown code block)."""
    status = summary["status"]
    lines = [f"{summary['submissions']} submissions: {status['passed']} passed, "
             f"{status['failed']} failed, {status['error']} error"]
    score = summary["score"]
    if score["mean_percent"] is not None:
        lines.append(f"score: mean {score['mean_percent']:g}%, median {score['median_percent']:g}%, "
                     f"min {score['min_percent']:g}%, max {score['max_percent']:g}%")
    counts = [b["count"] for b in summary["distribution"]]
    most = max(counts, default=0)
    if most:
        lines.append("score distribution:")
        for bucket in summary["distribution"]:
            if not bucket["count"]:
                continue
            bar = "#" * round(width * bucket["count"] / most)
            lines.append(f"  {bucket['range']:>8} {bucket['count']:>4}  {bar}")
    if summary["most_failed"]:
        lines.append("probes failed most often:")
        for item in summary["most_failed"]:
            lines.append(f"  {item['students']:>4} ({item['percent']:>5.1f}%)  {item['probe']}")
    if summary["errors"]:
        lines.append("grader errors (not counted against the student; re-run these):")
        for item in summary["errors"]:
            lines.append(f"  {item['student']}: {item['note']}")
    return lines


def summary_markdown(summary: Mapping[str, Any], *, title: str) -> str:
    """The summary as a Markdown document."""
    status = summary["status"]
    out = [f"# {title}", "",
           f"{summary['submissions']} submissions: **{status['passed']} passed**, "
           f"{status['failed']} failed, {status['error']} error.", ""]
    score = summary["score"]
    if score["mean_percent"] is not None:
        out += [f"Score: mean {score['mean_percent']:g}%, median {score['median_percent']:g}%, "
                f"min {score['min_percent']:g}%, max {score['max_percent']:g}%.", ""]
    out += ["## Score distribution", "", "| score | submissions |", "|---|---|"]
    out += [f"| {b['range']} | {b['count']} |" for b in summary["distribution"]]
    out += ["", "## Probes failed most often", ""]
    if summary["most_failed"]:
        out += ["| probe | students | share |", "|---|---|---|"]
        out += [f"| `{m['probe']}` | {m['students']} | {m['percent']:g}% |"
                for m in summary["most_failed"]]
    else:
        out.append("None.")
    if summary["errors"]:
        out += ["", "## Grader errors", "", "Not counted against the student; re-run these.", ""]
        out += [f"- `{e['student']}`: {e['note']}" for e in summary["errors"]]
    return "\n".join(out) + "\n"


# -- JUnit --------------------------------------------------------------------


def combine_junit(paths: Iterable[Path]) -> str:
    """One JUnit document holding every ``<testsuite>`` of the files at ``paths``.

    The root's ``tests``/``failures``/``errors``/``disabled``/``time`` are the
    sums.  Raises ``OSError`` or ``ET.ParseError`` for an unreadable file.
    """
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0, "disabled": 0}
    seconds = 0.0
    for path in paths:
        tree = ET.parse(path)
        top = tree.getroot()
        suites = [top] if top.tag == "testsuite" else list(top.iter("testsuite"))
        for suite in suites:
            root.append(suite)
            for key in totals:
                totals[key] += int(float(suite.get(key, "0") or 0))
            seconds += float(suite.get("time", "0") or 0)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- manifests and merge ------------------------------------------------------


def suffix(shard: tuple[int, int] | None) -> str:
    """File-name suffix of a shard's aggregate files: ``""`` or ``".shard-I-of-N"``."""
    return "" if shard is None else f".shard-{shard[0]}-of-{shard[1]}"


@dataclass(frozen=True, kw_only=True)
class Outputs:
    """Where a batch (or merge) writes its aggregate files, in ``out``."""

    out: Path
    shard: tuple[int, int] | None = None

    def path(self, stem: str, ext: str) -> Path:
        """``out/<stem><shard suffix>.<ext>``."""
        return self.out / f"{stem}{suffix(self.shard)}.{ext}"

    @property
    def gradebook(self) -> Path:
        """The gradebook CSV."""
        return self.path("gradebook", "csv")

    @property
    def junit(self) -> Path:
        """The combined JUnit file."""
        return self.path("junit", "xml")

    @property
    def summary_json(self) -> Path:
        """The summary as JSON."""
        return self.path("summary", "json")

    @property
    def summary_md(self) -> Path:
        """The summary as Markdown."""
        return self.path("summary", "md")

    @property
    def manifest(self) -> Path:
        """The manifest read by ``sockgrade merge``."""
        return self.path("batch", "json")

    def all(self) -> tuple[Path, ...]:
        """Every aggregate file."""
        return (self.gradebook, self.junit, self.summary_json, self.summary_md, self.manifest)


def write_aggregates(outputs: Outputs, rows: Sequence[Row], *, junit_text: str,
                     manifest: Mapping[str, Any], title: str,
                     wide: bool = False) -> dict[str, Any]:
    """Write gradebook (``wide``: a column per probe), combined JUnit, summary and manifest
    (the manifest last); returns the summary."""
    summary = summarize(rows)
    write_atomic(outputs.gradebook, gradebook_csv(rows, wide=wide))
    write_atomic(outputs.junit, junit_text)
    write_atomic(outputs.summary_json, json.dumps(summary, indent=2, ensure_ascii=False))
    write_atomic(outputs.summary_md, summary_markdown(summary, title=title))
    body = dict(manifest)
    body["format"] = MANIFEST_FORMAT
    body["summary"] = summary
    body["rows"] = [row_to_dict(r) for r in sorted(rows, key=lambda r: r.student)]
    write_atomic(outputs.manifest, json.dumps(body, indent=2, ensure_ascii=False))
    return summary


def _manifests(inputs: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for item in inputs:
        if item.is_file():
            found.append(item)
        elif item.is_dir():
            shards = sorted(item.glob("batch.shard-*-of-*.json"))
            if not shards:
                raise UsageError(f"{item}: no shard manifest (batch.shard-I-of-N.json) in it")
            found.extend(shards)
        else:
            raise UsageError(f"{item}: no such file or folder")
    return found


def _load_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable batch manifest: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise UsageError(f"{path}: not a sockgrade batch manifest")
    if not isinstance(data.get("shard"), dict):
        raise UsageError(f"{path}: not a shard manifest (made without --shard)")
    return data


def merge(inputs: Sequence[Path], outputs: Outputs, *,
          wide: bool = False) -> tuple[list[Row], dict[str, Any]]:
    """Join the shards found in ``inputs`` (folders or manifest files) into ``outputs``.

    ``wide``: the gradebook gets a column per probe.  Checks that all shards
    come from one batch (same assignment, options and submissions), that each
    of 1..N is there exactly once, and that no
    student appears twice; raises :class:`UsageError` naming the problem.
    Returns the merged rows and summary.
    """
    paths = _manifests(inputs)
    loaded = [(p, _load_manifest(p)) for p in paths]
    first_path, first = loaded[0]
    keys = ("assignment", "options_digest", "ids_digest", "total")
    for path, data in loaded[1:]:
        for key in keys:
            if data.get(key) != first.get(key):
                what = {"assignment": "assignment", "options_digest": "grading options",
                        "ids_digest": "set of submissions", "total": "number of submissions"}[key]
                raise UsageError(f"{path} and {first_path} are shards of different batches "
                                 f"(their {what} differ)")
    count = int(first["shard"]["count"])
    by_index: dict[int, Path] = {}
    for path, data in loaded:
        index = int(data["shard"]["index"])
        if int(data["shard"]["count"]) != count:
            raise UsageError(f"{path} is shard {index} of {data['shard']['count']}, "
                             f"{first_path} one of {count}")
        if index in by_index:
            raise UsageError(f"shard {index} of {count} given twice: {by_index[index]} and {path}")
        by_index[index] = path
    missing = [str(i) for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise UsageError(f"missing shard(s) {', '.join(missing)} of {count}: run them, "
                         "or pass their output folders")
    rows: list[Row] = []
    owner: dict[str, Path] = {}
    for path, data in loaded:
        for item in data["rows"]:
            row = row_from_dict(item)
            if row.student in owner:
                raise UsageError(f"student {row.student!r} is in two shards: "
                                 f"{owner[row.student]} and {path}")
            owner[row.student] = path
            rows.append(row)
    if len(rows) != int(first["total"]):
        raise UsageError(f"the shards hold {len(rows)} rows, but the folder had "
                         f"{first['total']} submissions")
    junit_files = [p.with_name(p.name.replace("batch.", "junit.", 1).replace(".json", ".xml"))
                   for p, _ in sorted(loaded, key=lambda pd: pd[1]["shard"]["index"])]
    for junit in junit_files:
        if not junit.is_file():
            raise UsageError(f"{junit}: missing (the shard's combined JUnit file)")
    manifest = {k: first[k] for k in ("assignment", "title", "options", "options_digest",
                                      "ids_digest", "total", "runner")}
    manifest["shard"] = None
    manifest["merged_from"] = [str(p) for p, _ in loaded]
    summary = write_aggregates(outputs, rows, junit_text=combine_junit(junit_files),
                               manifest=manifest, title=f"{first['title']} — batch summary",
                               wide=wide)
    return sorted(rows, key=lambda r: r.student), summary
