"""Stored audits: a policy whose requirements failed kept one "not applicable" Result per
check. Collapse those into one PolicyVerdict per (audit, policy) and take them out of every
count (audit, category summaries, score history, the host's latest counts), so old and new
audits count alike. Scores do not change: not applicable never counted in them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import migrations

LEGACY_REASON = "Policy requirements not met"
VERDICT_REASON = "requirements not met (recorded per check before policy-level verdicts)"


def collapse(apps: Any, schema_editor: Any) -> None:
    Result = apps.get_model("audits", "Result")
    Audit = apps.get_model("audits", "Audit")
    CategorySummary = apps.get_model("audits", "CategorySummary")
    ScoreSample = apps.get_model("audits", "ScoreSample")
    PolicyVerdict = apps.get_model("audits", "PolicyVerdict")
    Host = apps.get_model("inventory", "Host")
    legacy = Result.objects.filter(status="not_applicable", reason=LEGACY_REASON)
    audit_ids = sorted(set(legacy.values_list("audit_id", flat=True)))
    for audit_id in audit_ids:
        rows = list(
            legacy.filter(audit_id=audit_id).values_list(
                "pk", "policy_check__policy_id", "policy_check__category"
            )
        )
        policies = sorted({policy for _, policy, _ in rows})
        PolicyVerdict.objects.bulk_create(
            [
                PolicyVerdict(
                    audit_id=audit_id, policy_id=p, status="not_applicable", reason=VERDICT_REASON
                )
                for p in policies
            ],
            ignore_conflicts=True,
        )
        Result.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
        removed = len(rows)
        audit = Audit.objects.get(pk=audit_id)
        audit.not_applicable = max(audit.not_applicable - removed, 0)
        audit.save(update_fields=["not_applicable"])
        for category, count in Counter(c for _, _, c in rows).items():
            summary = CategorySummary.objects.filter(audit_id=audit_id, category=category).first()
            if summary is None:
                continue
            summary.not_applicable = max(summary.not_applicable - count, 0)
            if summary.passed + summary.failed + summary.not_applicable == 0:
                summary.delete()
            else:
                summary.save(update_fields=["not_applicable"])
        ScoreSample.objects.filter(audit_id=audit_id).update(not_applicable=audit.not_applicable)
        if audit.latest:
            Host.objects.filter(pk=audit.host_id).update(latest_not_applicable=audit.not_applicable)


class Migration(migrations.Migration):
    dependencies = [("audits", "0006_assignments_and_policy_verdicts")]

    operations = [migrations.RunPython(collapse, migrations.RunPython.noop)]
