"""Policy preview: evaluate policies on facts kept from an earlier collection, touching no
host. A check whose rules need a fact that was not collected is "needs collection", never
guessed; otherwise the verdict is exactly the one an audit would give on those facts."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from workers.engine.definitions import PolicyDefinition
from workers.engine.evaluate import CheckStatus, evaluate_check, requirements_hold
from workers.engine.facts import Facts
from workers.engine.plan import requests_for_rules
from workers.engine.selection import platform_mismatch


class PreviewStatus(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    NEEDS_COLLECTION = "needs_collection"


@dataclass(frozen=True)
class CheckPreview:
    policy_id: str
    check_id: str
    status: PreviewStatus
    reason: str | None


def preview(policies: Sequence[PolicyDefinition], facts: Facts) -> list[CheckPreview]:
    """One verdict per check of each policy on these facts."""
    verdicts: list[CheckPreview] = []
    for policy in policies:
        verdicts += _policy(policy, facts)
    return verdicts


def _policy(policy: PolicyDefinition, facts: Facts) -> list[CheckPreview]:
    def every(status: PreviewStatus, reason: str | None) -> list[CheckPreview]:
        return [CheckPreview(policy.id, c.id, status, reason) for c in policy.checks]

    mismatch = platform_mismatch(policy, facts.windows)
    if mismatch is not None:
        return every(PreviewStatus.NOT_APPLICABLE, mismatch)
    if policy.requirements is not None:
        missing = requests_for_rules(policy.requirements.rules, policy.dialect, facts)
        if missing:
            return every(PreviewStatus.NEEDS_COLLECTION, "the requirements' facts were not kept")
        applies, reason = requirements_hold(policy, facts)
        if not applies:
            return every(PreviewStatus.NOT_APPLICABLE, reason)
    verdicts = []
    for check in policy.checks:
        if requests_for_rules(check.rules, policy.dialect, facts):
            verdicts.append(CheckPreview(policy.id, check.id, PreviewStatus.NEEDS_COLLECTION, None))
            continue
        evaluation = evaluate_check(policy, check, facts)
        status = {
            CheckStatus.PASSED: PreviewStatus.PASSED,
            CheckStatus.FAILED: PreviewStatus.FAILED,
            CheckStatus.NOT_APPLICABLE: PreviewStatus.NOT_APPLICABLE,
        }[evaluation.status]
        verdicts.append(CheckPreview(policy.id, check.id, status, evaluation.reason))
    return verdicts
