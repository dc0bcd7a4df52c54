"""Audits as standard exports: Audit and Result rows turned into workers.exports' Run.

One query for the results of all the audits asked for (with their checks and policies); the
formats themselves live in workers/exports/, shared with the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

from bulwark.audits import history
from bulwark.audits.models import Audit, AuditStatus, Result
from bulwark.inventory.models import Host
from workers.exports.model import CheckResult, HostReport, Run
from workers.exports.outcome import evidence_line


def _check_result(result: Result) -> CheckResult:
    check = result.policy_check
    compliance = {
        str(key): tuple(str(v) for v in (values if isinstance(values, list) else [values]))
        for key, values in (check.compliance or {}).items()
    }
    evidence = result.evidence if isinstance(result.evidence, list) else []
    return CheckResult(
        policy_id=check.policy.policy_id,
        policy_name=check.policy.name,
        check_id=check.check_id,
        title=check.title,
        status=result.status,  # any status, known or not (excepted...), passes through
        reason=result.reason,
        category=check.category,
        evidence=tuple(evidence_line(e) for e in evidence if isinstance(e, dict)),
        description=check.description,
        rationale=check.rationale,
        remediation=check.remediation,
        compliance=compliance,
        level=check.level,
    )


def host_reports(hosts: Sequence[Host], audits: Sequence[Audit]) -> list[HostReport]:
    """One report per host, in the hosts' order: its audit's results, or why there are none."""
    by_host = {audit.host_id: audit for audit in audits}
    results: dict[int, list[CheckResult]] = {audit.pk: [] for audit in audits}
    done = [a for a in audits if a.status == AuditStatus.DONE]
    # Audits kept in full in one query; an older, reduced one through its chain (history.py).
    full = [a.pk for a in done if not a.results_reduced]
    full_rows = Result.objects.filter(audit__in=full, audit__results_reduced=False)
    sources = [(None, full_rows)] if full else []
    sources += [(a.pk, history.results_of(a)) for a in done if a.results_reduced]
    for as_of, found in sources:
        rows = found.select_related("policy_check__policy").order_by(
            "policy_check__policy__policy_id", "id"
        )
        for row in rows.iterator(chunk_size=2000):
            results[as_of or row.audit_id].append(_check_result(row))
    reports = []
    for host in hosts:
        audit = by_host.get(host.pk)
        base = {"name": host.name, "address": host.address}
        if audit is None:
            reports.append(HostReport(**base, error="no finished audit"))
            continue
        facts = audit.host_facts or {}
        common = {
            **base,
            "hostname": str(facts.get("hostname", "")),
            "os": str(facts.get("pretty_name") or facts.get("family") or ""),
            "audited_at": audit.finished_at or audit.created_at,
            "audit_id": str(audit.pk),
        }
        if audit.status == AuditStatus.ERROR:
            reports.append(HostReport(**common, error=audit.error_reason or "audit failed"))
        elif audit.status != AuditStatus.DONE:
            reports.append(HostReport(**common, error=f"audit not finished ({audit.status})"))
        else:
            reports.append(HostReport(**common, results=tuple(results[audit.pk])))
    return reports


def audit_run(audit: Audit) -> Run:
    title = f"Bulwark audit {audit.pk} of {audit.host.name}"
    return Run(title=title, hosts=tuple(host_reports([audit.host], [audit])))


def group_run(title: str, hosts: Sequence[Host]) -> Run:
    """The latest finished audit of each host; hosts never audited are listed as such."""
    audits = list(Audit.objects.filter(host__in=hosts, latest=True))
    return Run(title=title, hosts=tuple(host_reports(hosts, audits)))
