"""Each policy lists, exactly, the automated recommendations of its benchmark it does not cover,
so the generated coverage table in rulesets/README.md tells the truth."""

from __future__ import annotations

import pytest

from tests.rulesets.cis_references import LINUX_REFERENCES, WINDOWS_REFERENCES
from tests.rulesets.coverage import automated_items, uncovered
from tests.rulesets.scenarios import ROOT
from workers.engine.definitions import PolicyDefinition
from workers.engine.policy import load_policy


def _policy(policy_id: str) -> PolicyDefinition:
    folder = "windows" if policy_id in WINDOWS_REFERENCES else "linux"
    loaded = load_policy(ROOT / "rulesets" / folder / f"{policy_id}.yml")
    assert loaded.policy is not None, loaded.errors
    return loaded.policy


@pytest.mark.parametrize("policy_id", sorted(LINUX_REFERENCES) + sorted(WINDOWS_REFERENCES))
def test_the_uncovered_lists_are_exact(policy_id: str) -> None:
    policy = _policy(policy_id)
    assert policy.benchmark is not None
    stated = {level: list(items) for level, items in policy.benchmark.uncovered.items()}
    assert stated == uncovered(policy), "regenerate the policy's benchmark.uncovered lists"


@pytest.mark.parametrize("policy_id", sorted(LINUX_REFERENCES) + sorted(WINDOWS_REFERENCES))
def test_covered_and_uncovered_make_up_the_automated_items(policy_id: str) -> None:
    policy = _policy(policy_id)
    assert policy.benchmark is not None
    automated = automated_items(policy_id)
    listed = {item for items in policy.benchmark.uncovered.values() for item in items}
    covered = {item for c in policy.checks for item in c.compliance.get("cis", ())} & set(automated)
    assert not listed & covered
    assert listed | covered == set(automated)
