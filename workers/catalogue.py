"""The rulesets catalogue: a Markdown table of every check of our policies, with counts.

python -m workers catalogue rulesets/ > rulesets/README.md
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from workers.engine.categories import CIS_CONTROLS_V8, category_of
from workers.engine.definitions import PolicyDefinition

HEADER = """\
# Bulwark rulesets

Our own policies, in the Wazuh SCA-compatible format (5.x dialect). Every check maps to a CIS
Controls v8 safeguard (`cis_csc_v8`) and, through the reviewed table workers/engine/attack.yml,
to MITRE ATT&CK techniques (`mitre_techniques`), carries its CIS profile level, and is proven
both ways: a test host where it passes and one where it fails (`tests/rulesets/scenarios/`).
"With a fix" counts the checks whose `fix:` remediation `python -m workers remediate` can
generate, each proven on a test host (`tests/workers/remediation/`); see
docs/policy-format-extensions.md.

This file is generated: `python -m workers catalogue rulesets/ > rulesets/README.md`
(a test fails when it is out of date).

Each policy states the benchmark version its CIS numbers, titles and levels follow
(`policy.benchmark`), checked by tests against the reference data. Coverage counts the
benchmark's automated recommendations (for Windows, those of the member-server or enterprise
profile) that a check cites, per level (a checked item the benchmark calls manual counts too);
the automated ones not covered yet are listed under each policy.

CIS Controls v8 categories 1 (Inventory of Enterprise Assets), 11 (Data Recovery) and
12 (Network Infrastructure Management) have no checks: in the references' mappings no
recommendation of these five benchmarks has a category 1 or 11 safeguard, and the only category
12 safeguard (12.2) comes second, after 4.8, on two Windows Server items (18.6.11.2 and
18.6.11.3), whose first safeguard decides the category.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(policies: Sequence[PolicyDefinition], root: str = "") -> str:
    lines = [HEADER]
    total: Counter[str] = Counter()
    lines.append("## Policies\n")
    lines.append("| policy | file | checks | level 1 | level 2 | with a fix |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for policy in policies:
        levels = Counter(check.level for check in policy.checks)
        path = policy.path.removeprefix(root)
        count = len(policy.checks)
        fixes = sum(1 for check in policy.checks if check.fix is not None and check.fix.automatic)
        lines.append(
            f"| {_cell(policy.name)} | `{path}` | {count} | {levels[1]} | {levels[2]} | {fixes} |"
        )
    total_fixes = sum(
        1 for p in policies for check in p.checks if check.fix is not None and check.fix.automatic
    )
    lines.append(f"| **all** | | {sum(len(p.checks) for p in policies)} | | | {total_fixes} |\n")
    for policy in policies:
        for check in policy.checks:
            total[category_of(check)] += 1
    lines.extend(_coverage(policies))
    lines.append("## Checks per CIS Controls v8 category\n")
    lines.append("| control | category | checks |")
    lines.append("|---:|---|---:|")
    numbers = {name: number for number, name in CIS_CONTROLS_V8.items()}
    for name, count in sorted(total.items(), key=lambda item: numbers.get(item[0], 99)):
        lines.append(f"| {numbers.get(name, '')} | {name} | {count} |")
    lines.append("")
    for policy in policies:
        lines.append(f"## {_cell(policy.name)}\n")
        lines.append(f"`{policy.id}`: {_cell(policy.description)}\n")
        lines.extend(_uncovered(policy))
        lines.append("| id | title | category | level |")
        lines.append("|---|---|---|---:|")
        for check in policy.checks:
            level = "" if check.level is None else str(check.level)
            lines.append(
                f"| `{check.id}` | {_cell(check.title)} | {category_of(check)} | {level} |"
            )
        lines.append("")
    return "\n".join(lines)


def _covered(policy: PolicyDefinition, level: int) -> set[str]:
    return {
        item
        for check in policy.checks
        if check.level == level
        for item in check.compliance.get("cis", ())
    }


def _coverage(policies: Sequence[PolicyDefinition]) -> list[str]:
    """Per benchmark and level: recommendations a check cites / those plus the uncovered ones."""
    lines = ["## Coverage per benchmark and level\n"]
    lines.append("| benchmark | version | level | covered | of | % |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for policy in policies:
        benchmark = policy.benchmark
        if benchmark is None:
            continue
        for level in (1, 2):
            covered = len(_covered(policy, level))
            total = covered + len(benchmark.uncovered.get(level, ()))
            share = f"{100 * covered / total:.0f}" if total else ""
            name = _cell(benchmark.name)
            lines.append(
                f"| {name} | {benchmark.version} | {level} | {covered} | {total} | {share} |"
            )
    lines.append("")
    return lines


def _uncovered(policy: PolicyDefinition) -> list[str]:
    if policy.benchmark is None:
        return []
    lines = [f"Benchmark: {_cell(policy.benchmark.name)} v{policy.benchmark.version}"]
    lines[0] += f" ({_cell(policy.benchmark.profile)}).\n" if policy.benchmark.profile else ".\n"
    for level in (1, 2):
        items = policy.benchmark.uncovered.get(level, ())
        if items:
            lines.append(f"Not covered yet, level {level} ({len(items)}): {', '.join(items)}.\n")
    return lines
