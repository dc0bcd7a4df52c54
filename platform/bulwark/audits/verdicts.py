"""The policy-level verdicts of a stored audit: one row per policy the audit considered."""

from __future__ import annotations

from bulwark.audits.models import Audit
from bulwark.audits.targets import PolicyVerdict
from bulwark.policies.models import Policy
from workers.audit import AuditOutcome
from workers.engine.evaluate import PolicyStatus


def store_verdicts(audit: Audit, outcome: AuditOutcome) -> None:
    """Replace the audit's verdicts with the outcome's (idempotent on a retried store)."""
    PolicyVerdict.objects.filter(audit=audit).delete()
    pks = dict(
        Policy.objects.filter(policy_id__in=[e.policy.id for e in outcome.policies]).values_list(
            "policy_id", "pk"
        )
    )
    rows = []
    for evaluation in outcome.policies:
        pk = pks.get(evaluation.policy.id)
        if pk is None:
            continue
        levels = sorted({c.level for c in evaluation.policy.checks if c.level is not None})
        applicable = evaluation.status is PolicyStatus.APPLICABLE
        rows.append(
            PolicyVerdict(
                audit=audit,
                policy_id=pk,
                status=(
                    PolicyVerdict.Status.APPLICABLE
                    if applicable
                    else PolicyVerdict.Status.NOT_APPLICABLE
                ),
                reason=evaluation.reason or "",
                levels=levels or [1, 2],
            )
        )
    PolicyVerdict.objects.bulk_create(rows)
