"""Which automated recommendations of each benchmark our policies cover, from the references.

Linux: ComplianceAsCode's automated items with a server level. Windows: the automated items that
Wazuh's policy lists (implemented by Wazuh or not), member-server ones only for Server 2022.
NG (Next Generation Windows Security) and BL (BitLocker) items count as level 2.
"""

from __future__ import annotations

from tests.rulesets.cis_references import (
    WINDOWS_REFERENCES,
    Benchmark,
    Recommendation,
    benchmark_for,
)
from workers.engine.definitions import PolicyDefinition


def reference_level(benchmark: Benchmark, item: Recommendation, windows: bool) -> int | None:
    """The level our policies give the item (None: not in the policy's profile)."""
    if not windows:
        return benchmark.level(item, "server")
    if item.levels & {"NG", "BL"}:
        return 2
    return benchmark.level(item, "windows")  # None for the three untagged Windows 11 items


def automated_items(policy_id: str) -> dict[str, int]:
    """Automated item id -> level, for the profile the policy declares."""
    benchmark = benchmark_for(policy_id)
    assert benchmark is not None, policy_id
    windows = policy_id in WINDOWS_REFERENCES
    found = {}
    for item in benchmark.items.values():
        if not item.automated or (windows and "(dc only)" in item.title.lower()):
            continue
        level = reference_level(benchmark, item, windows)
        if windows and level is None:
            level = 1  # untagged in Wazuh's comment; counted with level 1 (our checks say 1)
        if level is not None:
            found[item.id] = level
    return found


def cited(policies: list[PolicyDefinition]) -> set[str]:
    return {item for p in policies for c in p.checks for item in c.compliance.get("cis", ())}


def uncovered(policy: PolicyDefinition) -> dict[int, list[str]]:
    """Automated items no check of the policy cites, per level, in benchmark order."""
    have = cited([policy])
    missing: dict[int, list[str]] = {1: [], 2: []}
    for item, level in automated_items(policy.id).items():
        if item not in have:
            missing[level].append(item)
    for items in missing.values():
        items.sort(key=lambda text: [int(part) for part in text.split(".")])
    return missing
