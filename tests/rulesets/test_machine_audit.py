"""Auditing this machine with every Linux policy of rulesets/ at once: one collector execution,
a result for every check of each policy that applies (issue 6). The 30 s goal is measured by
bench/rulesets.py, not here: speed goals live in benchmarks, never in timed tests."""

from __future__ import annotations

import os

import pytest

from tests.require import require
from tests.rulesets.differences import load
from tests.rulesets.scenarios import ROOT
from workers.audit import run
from workers.engine.evaluate import PolicyStatus
from workers.transports.local import LocalTransport

pytestmark = pytest.mark.slow  # make test-fast leaves it out

POLICY_FILES = sorted((ROOT / "rulesets" / "linux").glob("*.yml"))


@pytest.mark.root
def test_all_linux_policies_audit_this_machine_in_one_collector_execution() -> None:
    require(os.geteuid() == 0, "the machine audit runs as root, like the agent")
    policies = [load(path) for path in POLICY_FILES]
    with LocalTransport() as transport:
        outcome = run(transport, policies)
        assert transport.executions == 1
    assert outcome.executions == 1
    applicable = [p for p in outcome.policies if p.status is PolicyStatus.APPLICABLE]
    assert applicable, [(p.policy.id, p.reason) for p in outcome.policies]
    for evaluation in applicable:
        expected = [check.id for check in evaluation.policy.checks]
        assert [result.check.id for result in evaluation.checks] == expected
    for evaluation in outcome.policies:
        if evaluation.status is PolicyStatus.NOT_APPLICABLE:
            assert evaluation.reason
