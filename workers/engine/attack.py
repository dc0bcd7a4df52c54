"""MITRE ATT&CK technique ids for checks, derived from their CIS Controls v8 safeguards.

Every check of our rulesets cites at least one CIS Controls v8 safeguard (`cis_csc_v8`); one
reviewed table (attack.yml beside this module, how it was made is written at its top) maps each
safeguard to the techniques it makes harder. A check that names no technique of its own gets
the union of its safeguards' techniques as `compliance.mitre_techniques`, the key Wazuh's
policies use, so reports, exports and the API show them like any other mapping
(docs/check-content.md).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

TABLE = Path(__file__).with_name("attack.yml")
KEY = "mitre_techniques"
SAFEGUARDS = "cis_csc_v8"


@cache
def safeguard_techniques() -> dict[str, tuple[str, ...]]:
    """The table: safeguard ("4.8") -> technique ids."""
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return {str(key): tuple(str(t) for t in value) for key, value in data["safeguards"].items()}


def with_techniques(
    compliance: dict[str, tuple[str, ...]], mitre: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """`compliance` with `mitre_techniques` derived from its safeguards, unless the check names
    techniques itself (in compliance, or in a 5.x `mitre:` map)."""
    if compliance.get(KEY) or any(key.startswith("technique") for key in mitre):
        return compliance
    table = safeguard_techniques()
    found = dict.fromkeys(t for s in compliance.get(SAFEGUARDS, ()) for t in table.get(s, ()))
    if not found:
        return compliance
    return {**compliance, KEY: tuple(found)}
