"""A host audited with every Linux policy gets each CIS finding once.

The SSH server items (CIS 5.1) are checked by the distribution's own policy on Debian 12 and
Ubuntu 22.04/24.04, and by bulwark_openssh_cis elsewhere; bulwark_openssh holds only checks
beyond the CIS list. Proven on test hosts over SSH that identify as each distribution.
"""

from __future__ import annotations

from collections import Counter

import pytest

from lab.harness import TestHosts
from tests.rulesets.scenarios import ROOT, host_spec
from workers.audit import run
from workers.engine.definitions import PolicyDefinition
from workers.engine.policy import load_policy
from workers.transports.ssh import SSHTransport, SudoMode

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)

OS_RELEASE = {
    "debian12": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    "ubuntu2204": 'ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n',
    "ubuntu2404": 'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n',
    "rocky9": 'ID="rocky"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
}
# Which policies apply where (bulwark_openssh applies everywhere).
EXPECTED = {
    "debian12": {"bulwark_debian12", "bulwark_openssh"},
    "ubuntu2204": {"bulwark_ubuntu2204", "bulwark_openssh"},
    "ubuntu2404": {"bulwark_ubuntu2404", "bulwark_openssh"},
    "rocky9": {"bulwark_openssh_cis", "bulwark_openssh"},
}


def _linux_policies() -> list[PolicyDefinition]:
    policies = []
    for path in sorted((ROOT / "rulesets" / "linux").glob("*.yml")):
        loaded = load_policy(path)
        assert loaded.policy is not None, loaded.errors
        policies.append(loaded.policy)
    return policies


def test_the_openssh_baseline_names_no_cis_item() -> None:
    openssh = next(p for p in _linux_policies() if p.id == "bulwark_openssh")
    assert [c.id for c in openssh.checks if c.compliance.get("cis")] == []


def test_each_cis_item_is_reported_once_per_host(test_hosts: TestHosts) -> None:
    policies = _linux_policies()
    names = sorted(OS_RELEASE)
    specs = [
        host_spec(f"once-{name}", {}, {"files": {"/etc/os-release": OS_RELEASE[name]}})
        for name in names
    ]
    hosts = test_hosts.start_many(specs)
    try:
        for name, host in zip(names, hosts, strict=True):
            target = host.ssh_target(user="auditor", sudo=SudoMode.NOPASSWD)
            with SSHTransport(target) as transport:
                outcome = run(transport, policies, command_timeout=60)
            applicable = {p.policy.id for p in outcome.policies if p.status.value == "applicable"}
            assert applicable == EXPECTED[name], name
            reported = Counter(
                item
                for policy in outcome.policies
                if policy.policy.id in applicable
                for result in policy.checks
                for item in result.check.compliance.get("cis", ())
            )
            twice = sorted(item for item, count in reported.items() if count > 1)
            assert twice == [], f"{name}: CIS items reported more than once: {twice}"
            # The SSH items are among the reported ones (once), wherever the host runs.
            assert reported["5.1.20"] == 1, name
    finally:
        for host in hosts:
            host.stop()
