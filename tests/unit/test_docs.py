"""The project explains itself: what code, tests and READMEs cite lives in this repository.

Citations take the form docs/<file>.md "<Section>" (docs/README.md); a citation of a file or a
section that does not exist, or of a document outside the repository, fails here. So does a
relative link or #anchor of README.md, docs/*.md or bench/README.md that leads nowhere (anchors as
GitHub makes them), and a README that no longer fits on a screen or two.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SKIPPED_DIRS = {".venv", ".data", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}
SCANNED = (".py", ".md", ".toml")
# Built from pieces so that this file does not cite them itself.
OUTSIDE = ("DESIGN" + ".md", "../" + "shared", "/work/" + "shared")
CITATION = re.compile(r"docs/([A-Za-z0-9_.-]+\.md)(?:\s+\"([^\"\n]+)\")?")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md")), ROOT / "bench" / "README.md"]
README_MAX_LINES = 130


def repo_files() -> Iterator[Path]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            if name.endswith(SCANNED):
                yield Path(folder) / name


def headings(doc: Path) -> set[str]:
    return set(HEADING.findall(FENCE.sub("", doc.read_text(encoding="utf-8"))))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    """Every anchor GitHub gives a page: a repeated heading gets -1, -2, … after the first."""
    names: set[str] = set()
    repeats: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", doc.read_text(encoding="utf-8"))):
        base = anchor(heading)
        names.add(base if base not in repeats else f"{base}-{repeats[base]}")
        repeats[base] = repeats.get(base, 0) + 1
    return names


def links(page: Path) -> Iterator[str]:
    """The page's link targets, outside code blocks."""
    yield from MD_LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


def test_no_file_cites_a_document_outside_the_repository():
    found = []
    for path in repo_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{number}: {needle}" for needle in OUTSIDE if needle in line]
    assert not found, "cite docs/ instead:\n" + "\n".join(found)


def test_every_cited_doc_and_section_exists():
    missing = []
    cited = 0
    for path in repo_files():
        for match in CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            cited += 1
            doc, section = DOCS / match.group(1), match.group(2)
            where = f"{path.relative_to(ROOT)}: {match.group(0)}"
            if not doc.is_file():
                missing.append(f"{where} (no such file)")
            elif section is not None and section not in headings(doc):
                missing.append(f"{where} (no such section; sections: {sorted(headings(doc))})")
    assert cited > 0, "the citation pattern found nothing: it no longer matches how the code cites docs"
    assert not missing, "\n".join(missing)


def test_relative_links_and_anchors_resolve():
    broken = []
    checked = 0
    for page in PAGES:
        for link in links(page):
            target, _, fragment = link.partition("#")
            if "://" in target or target.startswith("mailto:"):
                continue
            checked += 1
            doc = (page.parent / target).resolve() if target else page
            if not doc.exists():
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
            elif fragment and (not doc.is_file() or fragment not in anchors(doc)):
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert checked > 50, "the link pattern found almost nothing: it no longer matches how the pages link"
    assert not broken, "\n".join(broken)


def test_github_anchors_number_repeated_headings(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n## `billing mrr` (CSV)\n```\n# not a heading\n```\n## Notes\n## Notes\n")
    assert anchors(page) == {"title", "billing-mrr-csv", "notes", "notes-1"}


def test_readme_fits_on_a_screen_or_two():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail into docs/ (docs/README.md)"


def test_cited_bench_and_script_files_exist():
    cited = re.compile(r"(?<![\w/.])(bench/(?:README\.md|[a-z0-9_]+\.py)|scripts/[a-z][a-z-]+)\b")
    missing = []
    for path in repo_files():
        for match in cited.finditer(path.read_text(encoding="utf-8", errors="replace")):
            if not (ROOT / match.group(1)).is_file():
                missing.append(f"{path.relative_to(ROOT)}: {match.group(1)}")
    assert not missing, "\n".join(missing)


def test_docs_index_lists_every_doc():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    unlisted = [d.name for d in sorted(DOCS.glob("*.md")) if d.name != "README.md" and f"({d.name})" not in index]
    assert not unlisted, f"add to docs/README.md: {unlisted}"


README_CITATION = re.compile(r"README,?\s+\"([^\"]+)\"")


def test_every_cited_readme_section_exists():
    sections = headings(ROOT / "README.md")
    missing = []
    for path in repo_files():
        for match in README_CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            if match.group(1) not in sections:
                missing.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not missing, "no such README section (cite the docs/ file that holds it):\n" + "\n".join(missing)
