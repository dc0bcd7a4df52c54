"""What docs/policy-format-extensions.md promises of the Linux policies, read from them: every
check has a fix that the shell script and the Ansible playbook both carry, or a `manual` note
saying why no automatic fix is offered, never both. (That the fixes work is proven on SSH test
hosts by tests/workers/remediation/test_fixes_proof.py; the Windows policies are held to the
same in test_windows_fixes.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rulesets.differences import load

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "rulesets" / "linux").glob("*.yml"))


def test_the_linux_policies_are_all_here() -> None:
    assert [p.stem for p in POLICIES] == [
        "bulwark_debian12",
        "bulwark_openssh",
        "bulwark_openssh_cis",
        "bulwark_ubuntu2204",
        "bulwark_ubuntu2404",
    ]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_every_check_has_a_fix_or_says_why_not(path: Path) -> None:
    policy = load(path)
    assert [c.id for c in policy.checks if c.fix is None] == []
    for check in policy.checks:
        fix = check.fix
        assert fix is not None
        automatic = fix.has_shell and fix.has_ansible
        assert automatic != bool(fix.manual.strip()), check.id
        assert not fix.powershell, check.id  # a Linux host runs no PowerShell
