"""Every document the code cites is in the repository: `*.md` paths, the feature numbers P1-P19
of docs/features.md, and the sections (§N) and edge cases (EN) of docs/policy-format.md."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("workers", "platform", "tests", "bench", "deploy", "lab", "docs", "rulesets", ".ci")
SUFFIXES = {".py", ".ps1", ".sh", ".yml", ".yaml", ".toml", ".md", ".html", ".txt", ".example"}
ROOT_FILES = ("README.md", "CONTRIBUTING.md", "Makefile", "pyproject.toml", "docker-compose.yml")
SKIPPED = {".venv", "var", "node_modules", "__pycache__", ".pytest_cache"}
# Only the helper that locates the reference data may name the folder beside the project; this
# file plants bad references to prove the scan finds them.
SHARED_DATA_HELPER = Path("tests/shared_data.py")
THIS_FILE = Path(__file__).resolve()

MD_REFERENCE = re.compile(r"(?<![\w/.-])((?:\.{1,2}/)*[\w./-]*[\w-]\.md)\b")
P_NUMBER = re.compile(r"\bP(\d{1,2})(?:-P?(\d{1,2}))?\b")
FORMAT_CITE = re.compile(r"policy-format(?:\.md)? ((?:§\d+(?:\.\d+)?|E\d+))")
SECTION = re.compile(r"§(\d+(?:\.\d+)?)")


def source_files(root: Path = ROOT) -> Iterator[Path]:
    for name in ROOT_FILES:
        if (root / name).is_file():
            yield root / name
    for top in SCANNED:
        for path in sorted((root / top).rglob("*")):
            if SKIPPED & set(path.relative_to(root).parts) or not path.is_file():
                continue
            if path == THIS_FILE:
                continue
            if path.suffix in SUFFIXES or path.name in {"Dockerfile", "Makefile"}:
                yield path


def missing_documents(root: Path = ROOT) -> list[str]:
    """`file:line: reference` for each cited .md file that exists nowhere it could mean."""
    names = {p.name for p in root.rglob("*.md") if ".venv" not in p.parts}
    problems = []
    for path in source_files(root):
        rel = path.relative_to(root)
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if "../shared" in line and rel != SHARED_DATA_HELPER:
                problems.append(f"{rel}:{number}: ../shared (outside the project)")
            for reference in MD_REFERENCE.findall(line):
                here = (path.parent / reference).resolve()
                at_root = (root / reference).resolve()
                if any(p.is_file() and root in p.parents for p in (here, at_root)):
                    continue
                if "/" not in reference and reference in names:
                    continue  # a bare name of a document that exists (README.md, DIFFERENCES.md)
                problems.append(f"{rel}:{number}: {reference}")
    return problems


def defined_features(root: Path = ROOT) -> set[int]:
    text = (root / "docs" / "features.md").read_text()
    return {int(n) for n in re.findall(r"\*\*P(\d+)\.", text)}


def undefined_features(root: Path = ROOT) -> list[str]:
    defined = defined_features(root)
    problems = []
    for path in source_files(root):
        if path.suffix not in {".py", ".html"}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for first, last in P_NUMBER.findall(line):
                wanted = range(int(first), int(last or first) + 1)
                if not set(wanted) <= defined:
                    problems.append(f"{path.relative_to(root)}:{number}: P{first}")
    return problems


def format_anchors(root: Path = ROOT) -> set[str]:
    """`§1.1`, `§4`, `E13`... as headings and bullets of docs/policy-format.md define them."""
    text = (root / "docs" / "policy-format.md").read_text()
    anchors = {f"§{n}" for n in re.findall(r"^#+ (\d+(?:\.\d+)?)\.? ", text, re.MULTILINE)}
    return anchors | set(re.findall(r"^- \*\*(E\d+)\*\*", text, re.MULTILINE))


def unknown_format_sections(root: Path = ROOT) -> list[str]:
    anchors = format_anchors(root)
    problems = []
    for path in source_files(root):
        text = path.read_text(errors="replace")
        cites_format = "policy-format" in text
        for number, line in enumerate(text.splitlines(), 1):
            cited = set(FORMAT_CITE.findall(line))
            if cites_format and path.suffix != ".md":
                cited |= {f"§{n}" for n in SECTION.findall(line)}
            problems += [f"{path.relative_to(root)}:{number}: {c}" for c in cited - anchors]
    return problems


def test_every_cited_document_is_in_the_repository() -> None:
    assert missing_documents() == []


def test_every_feature_number_is_defined_in_docs_features() -> None:
    assert defined_features() == set(range(1, 20))
    assert undefined_features() == []


def test_every_policy_format_section_cited_exists() -> None:
    assert {"§1", "§4.4", "§8.6", "§13", "E2", "E13", "E19"} <= format_anchors()
    assert unknown_format_sections() == []


def test_the_readme_links_every_document_of_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{path.name}" in readme, f"README.md does not link docs/{path.name}"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "features.md").write_text("**P1. One.**\n**P2. Two.**\n")
    (tmp_path / "docs" / "policy-format.md").write_text("## 4. Rules\n### 4.4 c\n- **E2** x\n")
    (tmp_path / "workers").mkdir()
    return tmp_path


def test_the_scan_finds_what_a_maintainer_could_not_open(tree: Path) -> None:
    (tree / "workers" / "a.py").write_text(
        '"""See DESIGN.md, docs/features.md and ../shared/docs/x (P2, P1-P3)."""\n'
        "# docs/policy-format.md §4.4 and §5, E2 and policy-format E7\n"
    )
    assert missing_documents(tree) == [
        "workers/a.py:1: ../shared (outside the project)",
        "workers/a.py:1: DESIGN.md",
    ]
    assert undefined_features(tree) == ["workers/a.py:1: P1"]
    assert sorted(unknown_format_sections(tree)) == ["workers/a.py:2: E7", "workers/a.py:2: §5"]
