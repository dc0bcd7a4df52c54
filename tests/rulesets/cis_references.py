"""The CIS recommendations our policies cite, read from the shared reference data.

Linux: ComplianceAsCode's CIS control files (id, title, levels per profile, automated or not).
Windows: Wazuh's policies, whose comment before each check reads
`# 1.1.1 (L1) Ensure ... (Automated)`; a comment ending in "Not Implemented" lists an item Wazuh
knows but has no check for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.shared_data import shared_data_dir
from tests.yaml_files import read_yaml


@dataclass(frozen=True)
class Recommendation:
    """One CIS recommendation as a reference states it."""

    id: str
    title: str  # without the "(Automated)" / "(Manual)" suffix
    levels: frozenset[str]  # Linux: "l1_server"...; Windows: "L1", "L2", "NG" or "BL"
    automated: bool
    implemented: bool = True  # Windows: Wazuh has a check for it
    # Windows: the name of Wazuh's check, complete where the comment was cut short.
    other_title: str = ""

    def titles(self) -> tuple[str, ...]:
        return (self.title, self.other_title) if self.other_title else (self.title,)


@dataclass(frozen=True)
class Benchmark:
    """A benchmark version and its recommendations by id."""

    name: str
    version: str
    items: dict[str, Recommendation]

    def level(self, item: Recommendation, profile: str) -> int | None:
        """The lowest level at which `profile` includes the item (None: not in that profile)."""
        if profile in ("server", "workstation"):
            if f"l1_{profile}" in item.levels:
                return 1
            return 2 if f"l2_{profile}" in item.levels else None
        if "L1" in item.levels:
            return 1
        return 2 if "L2" in item.levels else None


# Our policy id -> the reference that holds its benchmark.
LINUX_REFERENCES = {
    "bulwark_debian12": "cis_debian12.yml",
    "bulwark_ubuntu2204": "cis_ubuntu2204.yml",
    "bulwark_ubuntu2404": "cis_ubuntu2404.yml",
}
WINDOWS_REFERENCES = {
    "bulwark_win2022_member": "cis_win2022.yml",
    "bulwark_win11_enterprise": "cis_win11_enterprise.yml",
}

_SUFFIX = re.compile(r"\s*\((automated|manual)\)\s*\.?\s*$", re.IGNORECASE)


def _flatten(controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for control in controls:
        flat.append(control)
        flat.extend(_flatten(control.get("controls") or []))
    return flat


@cache
def linux_benchmark(policy_id: str) -> Benchmark:
    path = shared_data_dir() / "cac-controls" / LINUX_REFERENCES[policy_id]
    data = read_yaml(path)
    items = {}
    for control in _flatten(data["controls"]):
        title = str(control.get("title", ""))
        items[str(control["id"])] = Recommendation(
            id=str(control["id"]),
            title=_SUFFIX.sub("", title),
            levels=frozenset(control.get("levels") or ()),
            automated=control.get("status") in ("automated", "partial"),
        )
    return Benchmark(str(data["title"]), str(data["version"]), items)


_COMMENT = re.compile(
    r"^\s*#\s*(?P<id>\d+(?:\.\d+)+)\s+(?:\((?P<level>L1|L2|NG|BL)\)\s+)?(?P<title>.*)$"
)
# Ends the title; one comment of Wazuh's Windows 11 file runs two items together after it, and
# one (19.7.8.2) writes the dash twice.
_NOT_IMPLEMENTED = re.compile(r"\s*-+\s*not implemented\b.*$", re.IGNORECASE)


@cache
def windows_benchmark(policy_id: str) -> Benchmark:
    """Wazuh 5.x's policy: its name carries the benchmark version."""
    path = shared_data_dir() / "wazuh-sca-5x" / "windows" / WINDOWS_REFERENCES[policy_id]
    return _parse_windows(path)


def _parse_windows(path: Path) -> Benchmark:
    lines = path.read_text().splitlines()
    name = version = ""
    items: dict[str, Recommendation] = {}
    for number, line in enumerate(lines):
        found = re.match(r'^\s*name:\s*"(CIS .* Benchmark) v(\d[\d.]*)"', line)
        if found and not name:
            name, version = found.group(1), found.group(2)
        match = _COMMENT.match(line)
        if not match or match["id"] in items:
            continue
        title = match["title"]
        implemented = not _NOT_IMPLEMENTED.search(title)
        title = _NOT_IMPLEMENTED.sub("", title)
        automated = "(manual)" not in title.lower()
        following = lines[number + 1].strip() if number + 1 < len(lines) else ""
        implemented = implemented and following.startswith("- id:")
        other = ""
        if implemented and number + 2 < len(lines):
            named = re.match(r'^\s*name:\s*"(.*)"\s*$', lines[number + 2])
            other = named.group(1) if named else ""
        items[match["id"]] = Recommendation(
            id=match["id"],
            title=_SUFFIX.sub("", title),
            levels=frozenset({match["level"]} if match["level"] else ()),
            automated=automated,
            implemented=implemented,
            other_title=other,
        )
    return Benchmark(name, version, items)


def benchmark_for(policy_id: str) -> Benchmark | None:
    if policy_id in LINUX_REFERENCES:
        return linux_benchmark(policy_id)
    if policy_id in WINDOWS_REFERENCES:
        return windows_benchmark(policy_id)
    return None


def normalise_title(title: str) -> str:
    """Wording-insensitive form of a title: case, quotes, punctuation and spacing dropped."""
    text = unicodedata.normalize("NFKC", title).lower()
    text = _SUFFIX.sub("", text)
    text = re.sub(r"^\d+(?:\.\d+)+\s+", "", text)  # our titles start with the number
    text = re.sub(r"^\((l1|l2|ng|bl)\)\s+", "", text)
    # Windows: which server role an item is for is the benchmark's section, not the item.
    text = re.sub(r"\((ms|dc) only\)", "", text)
    text = re.sub(r"[^a-z0-9/*_+-]+", " ", text)
    return " ".join(text.split())
