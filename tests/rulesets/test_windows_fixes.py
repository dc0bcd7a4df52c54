"""What docs/policy-format-extensions.md promises of the Windows fixes, read from the policies:
every check has a PowerShell fix or a `manual` note, a fix writes only the values (the audit
subcategory, the security policy line) its test reads, and no fix creates a service's key.
(That the fixes work is proven over WinRM by
tests/workers/remediation/test_windows_fixes_proof.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers.engine.definitions import PolicyDefinition, RuleType
from workers.engine.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "rulesets" / "windows").glob("*.yml"))
_LITERAL = r"'((?:[^']|'')*)'"
_READ = re.compile(rf"Get-ItemPropertyValue -LiteralPath {_LITERAL} -Name {_LITERAL} ")
_WRITE = re.compile(rf"New-ItemProperty -LiteralPath {_LITERAL} -Name {_LITERAL} ")
_NEW_KEY = re.compile(rf"New-Item -Path {_LITERAL} ")
_AUDIT_READ = re.compile(rf"^Test-BulwarkAuditPolicy {_LITERAL} ")
_AUDIT_WRITE = re.compile(r"^auditpol\.exe /set '/subcategory:([^']*)' ")
_POLICY_READ = re.compile(rf"^Test-Bulwark(?:SecurityNumber 'System Access'|UserRight) {_LITERAL} ")
_POLICY_WRITE = re.compile(
    rf"^(?:Set-BulwarkSecurityPolicy '(?:SECURITYPOLICY|USER_RIGHTS)' '[^']*' '([A-Za-z]+) = "
    rf"|Add-BulwarkUserRight {_LITERAL} )"
)
_SERVICE = re.compile(r"(?i)^HKLM:\\SYSTEM\\CurrentControlSet\\Services\\[^\\]+$")


def load(path: Path) -> PolicyDefinition:
    loaded = load_policy(path)
    assert loaded.policy is not None, loaded.errors
    return loaded.policy


def _values(pattern: re.Pattern[str], text: str) -> set[tuple[str, str]]:
    return {
        (k.replace("''", "'").lower(), n.replace("''", "'").lower())
        for k, n in pattern.findall(text)
    }


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_every_check_has_a_fix_or_says_why_not(path: Path) -> None:
    policy = load(path)
    registry_only = [c for c in policy.checks if all(r.type is RuleType.REGISTRY for r in c.rules)]
    assert len(registry_only) > 300
    assert [c.id for c in policy.checks if c.fix is None] == []
    for check in policy.checks:
        assert check.fix is not None
        assert bool(check.fix.powershell) != bool(check.fix.manual), check.id
    # the secedit and auditpol checks have theirs too (the shorthands of windows_fixes.py)
    audit = [c for c in policy.checks if c.fix and c.fix.powershell.startswith("auditpol.exe")]
    secedit = [c for c in policy.checks if c.fix and "-BulwarkSecurityPolicy" in c.fix.powershell]
    assert len(audit) >= 27 and len(secedit) >= 30


def _one(pattern: re.Pattern[str], text: str) -> set[str]:
    return {"".join(m).replace("''", "'").lower() for m in pattern.findall(text)}


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_a_fix_writes_what_its_test_reads_and_creates_no_service(path: Path) -> None:
    for check in load(path).checks:
        fix = check.fix
        if fix is None or not fix.powershell:
            continue
        if audited := _one(_AUDIT_WRITE, fix.powershell):
            assert audited == _one(_AUDIT_READ, fix.powershell_test), check.id
            continue
        if policy := _one(_POLICY_WRITE, fix.powershell):
            assert len(policy) == 1 and policy == _one(_POLICY_READ, fix.powershell_test), check.id
            continue
        written = _values(_WRITE, fix.powershell)
        assert written and written == _values(_READ, fix.powershell_test), check.id
        created = {k.replace("''", "'") for k in _NEW_KEY.findall(fix.powershell)}
        assert not [k for k in created if _SERVICE.match(k)], check.id
