"""The project explains itself: what code, tests and READMEs cite lives in this repository.

Citations take the form docs/<file>.md "<Section>" (docs/README.md); a citation of a file or a
section that does not exist, or of a document outside the repository, fails here.
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


def repo_files() -> Iterator[Path]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            if name.endswith(SCANNED):
                yield Path(folder) / name


def headings(doc: Path) -> set[str]:
    return set(HEADING.findall(doc.read_text(encoding="utf-8")))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


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


def test_markdown_links_into_docs_resolve():
    broken = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for link in MD_LINK.findall(page.read_text(encoding="utf-8")):
            target, _, fragment = link.partition("#")
            if "://" in target or not target.endswith(".md"):
                continue
            doc = (page.parent / target).resolve()
            if not doc.is_file():
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
            elif fragment and fragment not in {anchor(h) for h in headings(doc)}:
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, "\n".join(broken)


def test_docs_index_lists_every_doc():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    unlisted = [d.name for d in sorted(DOCS.glob("*.md")) if d.name != "README.md" and f"({d.name})" not in index]
    assert not unlisted, f"add to docs/README.md: {unlisted}"


README_CITATION = re.compile(r"README \"([^\"\n]+)\"")


def test_every_cited_readme_section_exists():
    sections = headings(ROOT / "README.md")
    missing = []
    for path in repo_files():
        for match in README_CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            if match.group(1) not in sections:
                missing.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not missing, "no such README section:\n" + "\n".join(missing)
