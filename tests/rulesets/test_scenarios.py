"""Every check of rulesets/linux is proven both ways on real test hosts over SSH."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab.harness import TestHosts
from tests.rulesets.scenarios import ROOT, host_spec, load_scenarios, scenario_file
from workers.audit import run
from workers.engine.definitions import PolicyDefinition
from workers.engine.policy import load_policy
from workers.transports.ssh import SSHTransport, SudoMode

pytest_plugins = ("tests.hosts.fixtures",)

POLICY_FILES = sorted((ROOT / "rulesets" / "linux").glob("*.yml"))


def _load(path: Path) -> PolicyDefinition:
    result = load_policy(path)
    assert result.policy is not None, [str(e) for e in result.errors]
    return result.policy


def _cases() -> list[object]:
    cases = []
    for path in POLICY_FILES:
        policy = _load(path)
        for check in policy.checks:
            cases.append(pytest.param(path, check.id, id=f"{path.stem}:{check.id}"))
    return cases


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.stem)
def test_every_check_has_both_scenarios_and_no_stray_ones(path: Path) -> None:
    policy = _load(path)
    _base, scenarios = load_scenarios(path)
    ids = {check.id for check in policy.checks}
    assert scenario_file(path).exists(), f"no scenarios for {path.name}"
    missing = sorted(i for i in ids if set(scenarios.get(i, {})) != {"pass", "fail"})
    assert missing == [], f"checks without both a pass and a fail scenario: {missing}"
    assert sorted(set(scenarios) - ids) == [], "scenarios for checks that do not exist"


@pytest.mark.parametrize(("path", "check_id"), _cases())
def test_check_passes_and_fails_as_its_scenarios_say(
    test_hosts: TestHosts, path: Path, check_id: str
) -> None:
    policy = _load(path)
    check = next(c for c in policy.checks if c.id == check_id)
    single = dataclasses.replace(policy, checks=(check,))
    base, scenarios = load_scenarios(path)
    number = policy.checks.index(check)
    specs = [
        host_spec(f"s{number}-{kind}", base, scenarios[check_id][kind]) for kind in ("pass", "fail")
    ]
    hosts = test_hosts.start_many(specs)
    try:
        got = {}
        for kind, host in zip(("pass", "fail"), hosts, strict=True):
            target = host.ssh_target(user="auditor", sudo=SudoMode.NOPASSWD)
            with SSHTransport(target) as transport:
                outcome = run(transport, [single], command_timeout=20)
            assert outcome.policies[0].status.value == "applicable", outcome.policies[0].reason
            result = outcome.results[0]
            got[kind] = (result.status.value, result.reason, [e.as_dict() for e in result.evidence])
        assert got["pass"][0] == "passed", f"pass scenario gave {got['pass']}"
        assert got["fail"][0] == "failed", f"fail scenario gave {got['fail']}"
    finally:
        for host in hosts:
            host.stop()
