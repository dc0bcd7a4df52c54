"""The policy-level verdicts of a stored audit: one row per policy the audit considered."""

from __future__ import annotations

from bulwark.audits.models import Audit
from bulwark.audits.targets import PolicyVerdict
from workers.audit import AuditOutcome
from workers.engine.evaluate import PolicyStatus


def store_verdicts(audit: Audit, outcome: AuditOutcome, pks: dict[str, int]) -> None:
    """Insert the audit's verdicts from the outcome; `pks` maps policy ids to their pks. The
    store has deleted a previous attempt's (idempotent on a retried store)."""
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
