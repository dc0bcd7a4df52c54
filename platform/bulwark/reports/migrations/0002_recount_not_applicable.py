"""After audits 0003 collapsed per-check "not applicable" rows of inapplicable policies: the
report aggregates' not-applicable counts follow (host days from their audit, group days from
their host days, check counters from the counted audits' remaining results)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def recount(apps: Any, schema_editor: Any) -> None:
    DailyHostSummary = apps.get_model("reports", "DailyHostSummary")
    DailyGroupSummary = apps.get_model("reports", "DailyGroupSummary")
    LatestCheckCount = apps.get_model("reports", "LatestCheckCount")
    CountedAudit = apps.get_model("reports", "CountedAudit")
    Result = apps.get_model("audits", "Result")
    for row in DailyHostSummary.objects.select_related("audit").iterator():
        if row.not_applicable != row.audit.not_applicable:
            row.not_applicable = row.audit.not_applicable
            row.save(update_fields=["not_applicable"])
    for group_day in DailyGroupSummary.objects.iterator():
        total = sum(
            DailyHostSummary.objects.filter(
                group_id=group_day.group_id, day=group_day.day
            ).values_list("not_applicable", flat=True)
        )
        if total != group_day.not_applicable:
            group_day.not_applicable = total
            group_day.save(update_fields=["not_applicable"])
    for counter in LatestCheckCount.objects.filter(not_applicable__gt=0).iterator():
        audits = CountedAudit.objects.filter(
            group_id=counter.group_id, day=counter.day
        ).values_list("audit_id", flat=True)
        count = Result.objects.filter(
            audit_id__in=list(audits),
            policy_check_id=counter.policy_check_id,
            status="not_applicable",
        ).count()
        if count != counter.not_applicable:
            counter.not_applicable = count
            if counter.passed == 0 and counter.failed == 0 and count == 0:
                counter.delete()
            else:
                counter.save(update_fields=["not_applicable"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("audits", "0007_collapse_not_applicable_policies"),
    ]

    operations = [migrations.RunPython(recount, migrations.RunPython.noop)]
