"""Build export reports from the audit runtime's own outcome (the CLI's side)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workers.audit import AuditOutcome
from workers.engine.evaluate import CheckEvaluation, RuleEvidence
from workers.exports.model import CheckResult, HostReport


def evidence_line(evidence: RuleEvidence | Mapping[str, Any]) -> str:
    """One line per evaluated rule: the rule, its result, where and what it found. Takes the
    engine's RuleEvidence or its stored form (as_dict(), the platform's Result.evidence)."""
    data = evidence.as_dict() if isinstance(evidence, RuleEvidence) else evidence
    text = f"{data.get('rule', '?')} -> {data.get('result', '?')}"
    if data.get("location"):
        text += f" at {data['location']}"
    if data.get("line"):
        text += f": {data['line']}"
    if data.get("reason"):
        text += f" ({data['reason']})"
    return text


def check_result(evaluation: CheckEvaluation, policy_name: str = "") -> CheckResult:
    check = evaluation.check
    return CheckResult(
        policy_id=evaluation.policy_id,
        policy_name=policy_name,
        check_id=check.id,
        title=check.title,
        status=evaluation.status.value,
        reason=evaluation.reason or "",
        category=evaluation.category,
        evidence=tuple(evidence_line(e) for e in evaluation.evidence),
        description=check.description,
        rationale=check.rationale,
        remediation=check.remediation,
        compliance=dict(check.compliance),
        level=check.level,
    )


def host_report(name: str, address: str, outcome: AuditOutcome, audited_at: datetime) -> HostReport:
    names = {p.policy.id: p.policy.name for p in outcome.policies}
    return HostReport(
        name=name,
        address=address,
        hostname=outcome.host.hostname,
        os=outcome.host.pretty_name or outcome.host.family,
        audited_at=audited_at,
        results=tuple(check_result(r, names.get(r.policy_id, "")) for r in outcome.results),
    )
