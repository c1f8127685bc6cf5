"""Every requirement cites the project's own lab catalogue (docs/labs.md), and what it quotes is there.

A citation is ``docs/labs.md §N`` (or ``§N-§M``, ``§N, §M``, ``§N and §M``),
optionally followed by quoted phrases in parentheses: ``("phrase")`` or
``("one"; "two")``.  Each quoted phrase must occur in one of the cited
sections (case-insensitive, whitespace-normalised, Markdown backticks and
asterisks ignored).  ``docs/labs.md ("Starting programs")`` cites an
unnumbered section by its heading.  Fast and offline: nothing is started.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader import assignment
from grader.probes import ProbeSpec
from grader.probes.families import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "labs.md"
#: The spec file the catalogue replaced; written split so this file does not mention it.
OLD_NAME = "LABS" + ".md"
#: Where the product's text lives (scanned for ``OLD_NAME``).
SCANNED = ("grader", "tests", "docs", "README.md")  # grader/data: assignments, references
#: Labs described but not graded yet.
UNGRADED = {11, 12, 13}

_HEADING = re.compile(r"^## (?P<title>.+?)[ \t]*$", re.M)
_NUMBERED = re.compile(r"§(?P<number>\d+) (?P<rest>.+)")
#: A citation: the file, then optionally the sections it names.
_CITATION = re.compile(
    r"docs/labs\.md(?P<refs> §\d+(?:(?:-|, | and | or )§\d+)*)?"
)
_SECTION_RANGE = re.compile(r"§(?P<first>\d+)(?:-§(?P<last>\d+))?")
#: Quoted phrases in parentheses right after a citation.
_QUOTED = re.compile(r'[ \t]*\((?P<body>\s*"[^"]*"(?:\s*[;,]\s*"[^"]*")*)\s*\)')
_OPENS_QUOTE = re.compile(r'[ \t]*\(\s*"')
_PHRASE = re.compile(r'"(?P<phrase>[^"]*)"')


def _normalise(text: str) -> str:
    """Lower case, Markdown emphasis and code marks dropped, whitespace collapsed."""
    return " ".join(text.replace("`", "").replace("*", "").split()).casefold()


def _parse_catalogue() -> tuple[dict[int, tuple[str, str]], set[str]]:
    """Numbered sections as ``{N: (heading, normalised text)}``, and the other headings."""
    text = CATALOGUE.read_text(encoding="utf-8")
    headings = list(_HEADING.finditer(text))
    numbered: dict[int, tuple[str, str]] = {}
    named: set[str] = set()
    for index, match in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
        title = match["title"]
        lab = _NUMBERED.fullmatch(title)
        if lab is None:
            named.add(_normalise(title))
            continue
        number = int(lab["number"])
        assert number not in numbered, f"docs/labs.md: two sections headed §{number}"
        numbered[number] = (title, _normalise(title + "\n" + text[match.end():end]))
    return numbered, named


SECTIONS, NAMED = _parse_catalogue() if CATALOGUE.is_file() else ({}, set())


def _cited_sections(refs: str) -> list[int]:
    numbers: list[int] = []
    for match in _SECTION_RANGE.finditer(refs):
        first = int(match["first"])
        last = int(match["last"]) if match["last"] else first
        numbers.extend(range(first, last + 1) if last >= first else (first, last))
    return numbers


def citation_problems(requirement: str) -> list[str]:
    """What is wrong with the catalogue citations of ``requirement`` (empty when nothing is)."""
    problems: list[str] = []
    source = requirement.find("Source:")
    if source < 0:
        return ["no 'Source:' citation"]
    if _CITATION.search(requirement, source) is None:
        problems.append("the 'Source:' does not cite docs/labs.md")
    for citation in _CITATION.finditer(requirement):
        cited = citation.group(0)
        numbers = _cited_sections(citation["refs"] or "")
        missing = [n for n in numbers if n not in SECTIONS]
        if missing:
            problems.append(f"{cited!r}: no section " + ", ".join(f"§{n}" for n in missing))
        rest = requirement[citation.end():]
        quoted = _QUOTED.match(rest)
        if quoted is None:
            if _OPENS_QUOTE.match(rest):
                problems.append(f"{cited!r}: malformed quotation {rest[:80]!r} "
                                f"(want (\"phrase\") or (\"one\"; \"two\"))")
            continue
        for phrase_match in _PHRASE.finditer(quoted["body"]):
            phrase = phrase_match["phrase"]
            wanted = _normalise(phrase)
            if not numbers:
                if wanted not in NAMED:
                    problems.append(f"{cited} ({phrase!r}): docs/labs.md has no section headed so")
            elif not any(wanted in SECTIONS[n][1] for n in numbers if n in SECTIONS):
                problems.append(f"{cited} ({phrase!r}): phrase not found in that section")
    return problems


def _registered() -> list[ProbeSpec]:
    return [spec for suite in REGISTRY.suites() for spec in REGISTRY.suite(suite).values()]


REGISTERED = _registered()
BUNDLED = assignment.bundled()


def test_catalogue_has_every_section() -> None:
    assert CATALOGUE.is_file(), "docs/labs.md is missing"
    assert sorted(SECTIONS) == list(range(1, 19)), f"numbered sections: {sorted(SECTIONS)}"
    assert "starting programs" in NAMED, "docs/labs.md has no '## Starting programs' section"
    for number, (heading, text) in SECTIONS.items():
        assert " — " in heading, f"§{number}: heading {heading!r} is not '§N <id> — <title>'"
        assert "classic bugs" in text, f"§{number} ({heading}) has no 'Classic bugs'"
        assert ("not graded yet" in text) == (number in UNGRADED), (
            f"§{number} ({heading}): 'not graded yet' should appear exactly in the UNGRADED sections")


@pytest.mark.parametrize("spec", REGISTERED, ids=lambda spec: f"{spec.suite}:{spec.name}")
def test_registered_probe_cites_catalogue(spec: ProbeSpec) -> None:
    problems = citation_problems(spec.requirement)
    assert not problems, f"probe {spec.suite}:{spec.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.stem)
def test_assignment_probes_cite_catalogue(path: Path) -> None:
    loaded = assignment.load(str(path))
    assert loaded.probes, f"assignment {loaded.id} runs no probe"
    problems = [
        f"probe {config.id} ({config.spec.suite}:{config.name}): {problem}"
        for config in loaded.probes
        for problem in citation_problems(config.spec.requirement)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.stem)
def test_assignment_lab_has_section(path: Path) -> None:
    loaded = assignment.load(str(path))
    assert loaded.lab is not None, f"assignment {loaded.id}: no lab number"
    assert loaded.lab in SECTIONS, f"assignment {loaded.id}: lab {loaded.lab} has no section"
    heading = SECTIONS[loaded.lab][0]
    assert loaded.id in heading, (
        f"assignment {loaded.id}: the heading of §{loaded.lab} ({heading!r}) does not name it")


def test_citation_checker_catches_bad_citations() -> None:
    assert citation_problems("No source here.") == ["no 'Source:' citation"]
    assert citation_problems("Source: RFC 9293.")
    assert citation_problems("Source: docs/labs.md §99.")
    assert citation_problems('Source: docs/labs.md §1 ("a phrase no section has, surely").')
    assert citation_problems('Source: docs/labs.md §1 ("any size": unterminated).')
    assert citation_problems('Source: docs/labs.md ("No such heading").')
    assert not citation_problems('Source: docs/labs.md §1 ("Any   SIZE"); docs/labs.md §2-§4.')
    assert not citation_problems('Source: docs/labs.md ("Starting programs").')


def _scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        top = ROOT / name
        candidates = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in candidates:
            parts = path.relative_to(ROOT).parts
            if not path.is_file() or path.suffix == ".pyc":
                continue
            if any(part == "__pycache__" or part.startswith(".") for part in parts):
                continue
            files.append(path)
    return files


def test_no_file_mentions_the_old_spec() -> None:
    needle = OLD_NAME.encode()
    offenders = [str(path.relative_to(ROOT)) for path in _scanned_files() if needle in path.read_bytes()]
    assert not offenders, f"files still citing {OLD_NAME} (cite docs/labs.md §N instead): {offenders}"
