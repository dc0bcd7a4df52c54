"""Our Debian 12 policy beside Wazuh's cis_debian12 on this machine and on a fully hardened test
host: every disagreement between two checks for the same CIS recommendation is explained in
rulesets/DIFFERENCES.md, and the table keeps no row the hardened host no longer needs."""

from __future__ import annotations

import os

import pytest

from lab.harness import TestHosts
from tests.require import require
from tests.rulesets.differences import (
    CLASSES,
    DIFFERENCES,
    OURS,
    SIDES,
    WAZUH_4X,
    WAZUH_5X,
    Pair,
    Row,
    audit_hardened,
    audit_machine,
    disagreements,
    load,
    pairs,
    parse_table,
    table,
)
from tests.shared_data import shared_data_dir
from workers.audit import AuditOutcome
from workers.engine.definitions import PolicyDefinition
from workers.engine.evaluate import CheckStatus, PolicyStatus

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)

MIN_HARDENED_PASS_RATE = 0.90


@pytest.fixture(scope="module")
def ours() -> PolicyDefinition:
    return load(OURS)


@pytest.fixture(scope="module")
def wazuh() -> PolicyDefinition:
    return load(shared_data_dir() / WAZUH_5X)


@pytest.fixture(scope="module")
def wazuh_4x() -> PolicyDefinition:
    return load(shared_data_dir() / WAZUH_4X)


@pytest.fixture(scope="module")
def found(ours: PolicyDefinition, wazuh_4x: PolicyDefinition) -> list[Pair]:
    return pairs(ours, wazuh_4x)


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return parse_table(DIFFERENCES.read_text())


@pytest.fixture(scope="module")
def machine(ours: PolicyDefinition, wazuh: PolicyDefinition) -> AuditOutcome:
    # As root, like the agent: several files both policies read are root-only
    # (docs/policy-format.md E2).
    require(os.geteuid() == 0, "the machine audit runs as root")
    return audit_machine([ours, wazuh])


@pytest.fixture(scope="module")
def hardened(
    test_hosts: TestHosts, ours: PolicyDefinition, wazuh: PolicyDefinition
) -> AuditOutcome:
    return audit_hardened(test_hosts, ours, [ours, wazuh])


def _both_applicable(outcome: AuditOutcome) -> None:
    for policy in outcome.policies:
        assert policy.status is PolicyStatus.APPLICABLE, (policy.policy.id, policy.reason)


def _unexplained(
    side: str,
    found: list[Pair],
    outcome: AuditOutcome,
    ours: PolicyDefinition,
    wazuh: PolicyDefinition,
    rows: list[Row],
) -> str:
    """The table rows still missing for this side ("" when none), ready to investigate."""
    disagree = disagreements(found, outcome, ours.id, wazuh.id)
    explained = {(r.cis, r.wazuh) for r in rows if side in r.sides}
    missing = {p: v for p, v in disagree.items() if (p.cis, p.wazuh) not in explained}
    if not missing:
        return ""
    by_side = {s: (missing if s == side else {}) for s in SIDES}
    return table(sorted(missing), by_side, [])


def test_wazuh_4x_and_5x_cis_debian12_share_check_ids_and_titles(
    wazuh: PolicyDefinition, wazuh_4x: PolicyDefinition
) -> None:
    titles_5x = {check.id: check.title for check in wazuh.checks}
    titles_4x = {check.id: check.title for check in wazuh_4x.checks}
    assert titles_5x == titles_4x
    assert all(check.compliance.get("cis") for check in wazuh_4x.checks)
    assert not any(check.compliance.get("cis") for check in wazuh.checks)


def test_pairs_join_one_check_of_each_policy_per_recommendation(found: list[Pair]) -> None:
    assert len(found) >= 100
    assert len({p.ours for p in found}) == len({p.wazuh for p in found}) == len(found)


def test_the_differences_table_is_well_formed(rows: list[Row], found: list[Pair]) -> None:
    known = {(p.cis, p.ours, p.wazuh) for p in found}
    problems = []
    keys: set[tuple[str, str, str]] = set()
    for row in rows:
        name = f"{row.cis} {row.wazuh} {row.where}"
        if (row.cis, row.ours, row.wazuh) not in known:
            problems.append(f"{name}: not a pair (CIS number, our check and Wazuh's must match)")
        if row.where not in (*SIDES, "both"):
            problems.append(f"{name}: where must be machine, hardened or both")
        if row.kind not in CLASSES:
            problems.append(f"{name}: class {row.kind!r} is not one of {CLASSES}")
        if len(row.reason) < 20 or "TODO" in row.reason:
            problems.append(f"{name}: the reason is missing")
        for side in row.sides:
            if (row.cis, row.wazuh, side) in keys:
                problems.append(f"{name}: a second row for the {side}")
            keys.add((row.cis, row.wazuh, side))
    assert problems == []


@pytest.mark.root
def test_every_disagreement_on_this_machine_is_explained(
    machine: AuditOutcome,
    found: list[Pair],
    ours: PolicyDefinition,
    wazuh: PolicyDefinition,
    rows: list[Row],
) -> None:
    _both_applicable(machine)
    missing = _unexplained("machine", found, machine, ours, wazuh, rows)
    assert missing == "", f"add these rows to {DIFFERENCES.name}:\n{missing}"


def test_the_hardened_host_passes_at_least_90_percent_of_our_checks(
    hardened: AuditOutcome, ours: PolicyDefinition
) -> None:
    _both_applicable(hardened)
    results = [r for r in hardened.results if r.policy_id == ours.id]
    assert len(results) == len(ours.checks)
    not_passing = [
        f"{r.check.id} {r.status.value}: {r.check.title}"
        for r in results
        if r.status is not CheckStatus.PASSED
    ]
    # Shown with `pytest -rP`: the checks the merged scenarios could not satisfy together.
    print(f"{len(results) - len(not_passing)}/{len(results)} of our checks pass", *not_passing)
    rate = 1 - len(not_passing) / len(results)
    assert rate >= MIN_HARDENED_PASS_RATE, "\n".join(not_passing)


def test_every_disagreement_on_the_hardened_host_is_explained(
    hardened: AuditOutcome,
    found: list[Pair],
    ours: PolicyDefinition,
    wazuh: PolicyDefinition,
    rows: list[Row],
) -> None:
    missing = _unexplained("hardened", found, hardened, ours, wazuh, rows)
    assert missing == "", f"add these rows to {DIFFERENCES.name}:\n{missing}"


def test_no_row_explains_a_pair_that_agrees_on_the_hardened_host(
    hardened: AuditOutcome,
    found: list[Pair],
    ours: PolicyDefinition,
    wazuh: PolicyDefinition,
    rows: list[Row],
) -> None:
    # Only the hardened host is deterministic; the machine's stock state may drift.
    disagree = {(p.cis, p.wazuh) for p in disagreements(found, hardened, ours.id, wazuh.id)}
    stale = [
        f"{r.cis} {r.wazuh} ({r.where})"
        for r in rows
        if "hardened" in r.sides and (r.cis, r.wazuh) not in disagree
    ]
    assert stale == [], "these pairs now agree on the hardened host: drop the rows or use machine"
