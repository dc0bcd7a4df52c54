"""Audit outcomes of the synthetic bench policy (bench/ingest.py `policy_yaml`), as a worker
would hand them to `audits.store.store_outcome`: one status per check, each with a line of
evidence that follows its status."""

from __future__ import annotations

from typing import Any


def bench_outcome(statuses: list[str]) -> Any:
    """An AuditOutcome of the one enabled policy with these statuses, in check order."""
    from bulwark.policies.services import enabled_definitions
    from workers.audit import AuditOutcome, HostInfo
    from workers.engine.categories import category_of
    from workers.engine.evaluate import (
        CheckEvaluation,
        CheckStatus,
        PolicyEvaluation,
        PolicyStatus,
        RuleEvidence,
    )
    from workers.engine.scoring import summarize, summarize_by_category

    (policy,) = enabled_definitions()
    checks = []
    for index, (check, status) in enumerate(zip(policy.checks, statuses, strict=True)):
        value = CheckStatus(status)
        line = f"setting{index} {'yes' if value is CheckStatus.PASSED else 'no'}"
        evidence = RuleEvidence(check.rules[0].raw, status, f"/etc/bench/{index}.conf", line)
        reason = "file missing" if value is CheckStatus.NOT_APPLICABLE else None
        checks.append(
            CheckEvaluation(policy.id, check, value, reason, category_of(check), (evidence,))
        )
    host = HostInfo("linux", "debian", "12", "bench", "6.1.0", "x86_64", "Debian GNU/Linux 12")
    return AuditOutcome(
        host=host,
        policies=(PolicyEvaluation(policy, PolicyStatus.APPLICABLE, None, tuple(checks)),),
        summary=summarize(checks),
        categories=tuple(summarize_by_category(checks)),
        executions=1,
        stages=2,
        seconds=0.5,
    )
