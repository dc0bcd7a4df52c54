"""Audit outcomes made by hand from the catalogue's policies, and a helper that stores one."""

from __future__ import annotations

from collections.abc import Iterable

from bulwark.audits import services
from bulwark.audits.models import Audit
from bulwark.audits.store import store_outcome
from bulwark.inventory.models import Host
from bulwark.policies.services import enabled_definitions
from workers.audit import AuditOutcome, HostInfo
from workers.engine.categories import category_of
from workers.engine.evaluate import CheckEvaluation, CheckStatus, PolicyEvaluation, PolicyStatus
from workers.engine.scoring import summarize, summarize_by_category

HOST_INFO = HostInfo("linux", "debian", "12", "web-1", "6.1.0", "x86_64", "Debian GNU/Linux 12")


def check_ids() -> list[str]:
    return [check.id for policy in enabled_definitions() for check in policy.checks]


def make_outcome(failed: Iterable[str] = (), not_applicable: Iterable[str] = ()) -> AuditOutcome:
    """Every check of the enabled policies passed, except those named."""
    failed, not_applicable = set(failed), set(not_applicable)
    evaluations = []
    for policy in enabled_definitions():
        checks = []
        for check in policy.checks:
            status = CheckStatus.PASSED
            if check.id in failed:
                status = CheckStatus.FAILED
            elif check.id in not_applicable:
                status = CheckStatus.NOT_APPLICABLE
            reason = "no such file" if status is CheckStatus.NOT_APPLICABLE else None
            checks.append(CheckEvaluation(policy.id, check, status, reason, category_of(check), ()))
        evaluations.append(PolicyEvaluation(policy, PolicyStatus.APPLICABLE, None, tuple(checks)))
    return outcome_of(evaluations)


def outcome_of(evaluations: list[PolicyEvaluation]) -> AuditOutcome:
    """The outcome of these policy evaluations, with its summary and categories."""
    results = [check for evaluation in evaluations for check in evaluation.checks]
    return AuditOutcome(
        host=HOST_INFO,
        policies=tuple(evaluations),
        summary=summarize(results),
        categories=tuple(summarize_by_category(results)),
        executions=1,
        stages=2,
        seconds=0.1,
    )


def audit_with(host: Host, outcome: AuditOutcome) -> Audit:
    """Queue, claim and store one audit of `host` with this outcome."""
    audit = Audit.objects.create(host=host)
    won = services.claim(audit.pk)
    assert won is not None
    assert store_outcome(won, outcome)
    audit.refresh_from_db()
    return audit
