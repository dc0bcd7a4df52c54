"""MITRE ATT&CK techniques on every check (workers/engine/attack.py, workers/engine/attack.yml).

Each check of rulesets/ carries the techniques of its CIS Controls v8 safeguards. The ids are
checked against the technique ids that Wazuh's public policies use in `mitre_techniques` (test
input from the shared reference data): an id outside that set must be listed in ALLOWED with
the reason it is right.
"""

from __future__ import annotations

import re
from functools import cache

from tests.rulesets.scenarios import ROOT
from tests.shared_data import shared_data_dir
from workers.engine.attack import safeguard_techniques, with_techniques
from workers.engine.definitions import CheckDefinition
from workers.engine.policy import load_policy

TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?")
# Technique id -> why it is right though no Wazuh policy uses it.
ALLOWED: dict[str, str] = {
    "T1059": "Command and Scripting Interpreter, the current technique that replaced T1086 "
    "(PowerShell) and T1064 (Scripting), the ids Wazuh's policies still use",
}


def _checks() -> list[CheckDefinition]:
    checks = []
    for path in sorted((ROOT / "rulesets").glob("*/*.yml")):
        loaded = load_policy(path)
        assert loaded.policy is not None, loaded.errors
        checks += loaded.policy.checks
    return checks


@cache
def _wazuh_ids() -> frozenset[str]:
    found: set[str] = set()
    for path in shared_data_dir().glob("wazuh-sca-*/**/*.yml"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for values in re.findall(r"mitre_techniques:\s*\[([^\]]*)\]", text):
            found |= {v.strip().strip("\"'") for v in values.split(",")}
    return frozenset(found)


def test_every_check_has_at_least_one_technique() -> None:
    checks = _checks()
    assert len(checks) > 1000
    missing = [c.id for c in checks if not c.compliance.get("mitre_techniques")]
    assert missing == []


def test_the_table_covers_exactly_the_safeguards_our_checks_cite() -> None:
    cited = {s for c in _checks() for s in c.compliance.get("cis_csc_v8", ())}
    table = safeguard_techniques()
    assert sorted(cited - set(table)) == [], "safeguards with no techniques"
    assert sorted(set(table) - cited) == [], "table rows no check cites"
    assert all(table.values())


def test_every_technique_id_is_a_real_attack_id() -> None:
    known = _wazuh_ids()
    assert len(known) > 100 and "T1110" in known  # the reference was read
    used = {t for techniques in safeguard_techniques().values() for t in techniques}
    assert all(TECHNIQUE_ID.fullmatch(t) for t in used), sorted(used)
    assert sorted(used - known - set(ALLOWED)) == []
    assert sorted(set(ALLOWED) - used) == [], "stale allowances"
    assert not set(ALLOWED) & known, "allowed ids Wazuh uses need no allowance"


def test_a_check_that_names_its_own_techniques_keeps_them() -> None:
    own = {"cis_csc_v8": ("4.8",), "mitre_techniques": ("T1200",)}
    assert with_techniques(own, {}) == own
    assert with_techniques({"cis_csc_v8": ("4.8",)}, {"technique.id": ("T1200",)}) == {
        "cis_csc_v8": ("4.8",)
    }
    derived = with_techniques({"cis_csc_v8": ("4.10", "5.2", "99.9")}, {})
    assert derived["mitre_techniques"] == ("T1110", "T1110.001", "T1110.002")
    assert with_techniques({"pci_dss": ("2.2",)}, {}) == {"pci_dss": ("2.2",)}
