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
Controls v8 safeguard (`cis_csc_v8`), carries its CIS profile level, and is proven both ways:
a test host where it passes and one where it fails (`tests/rulesets/scenarios/`). "With a fix"
counts the checks whose `fix:` remediation `python -m workers remediate` can generate, each
proven on a test host (`tests/workers/remediation/`); see docs/policy-format-extensions.md.

This file is generated: `python -m workers catalogue rulesets/ > rulesets/README.md`
(a test fails when it is out of date).
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
        lines.append("| id | title | category | level |")
        lines.append("|---|---|---|---:|")
        for check in policy.checks:
            level = "" if check.level is None else str(check.level)
            lines.append(
                f"| `{check.id}` | {_cell(check.title)} | {category_of(check)} | {level} |"
            )
        lines.append("")
    return "\n".join(lines)
