"""Keeping the report aggregates in step with stored audits.

Called inside the store transaction (audits.store sends `audit_stored`), so an audit and its
aggregates commit together. Each audit touches a few hundred counter rows: one per check.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import F
from django.utils import timezone

from bulwark.audits.models import Audit, Result
from bulwark.inventory.models import Host
from bulwark.reports.models import (
    CountedAudit,
    DailyGroupSummary,
    DailyHostSummary,
    LatestCheckCount,
)

_STATUS_FIELDS = {
    Result.Status.PASSED: "passed",
    Result.Status.FAILED: "failed",
    Result.Status.NOT_APPLICABLE: "not_applicable",
}


def day_of(moment: dt.datetime) -> dt.date:
    """The report day of a time: the date in the configured TIME_ZONE."""
    return timezone.localdate(moment)


def record_audit(audit: Audit) -> None:
    """`audit` just became its host's latest: add it to the daily and latest aggregates."""
    assert audit.finished_at is not None
    group_id = Host.objects.values_list("group_id", flat=True).get(pk=audit.host_id)
    day = day_of(audit.finished_at)
    _record_day(audit, group_id, day)
    uncount(audit.host_id)
    _count(audit.pk, group_id, day, +1)
    CountedAudit.objects.create(host_id=audit.host_id, audit=audit, group_id=group_id, day=day)


def uncount(host_id: int) -> None:
    """Take a host's counted audit out of LatestCheckCount (before a newer one, a group move
    or a deletion)."""
    counted = CountedAudit.objects.filter(host_id=host_id).first()
    if counted is None:
        return
    _count(counted.audit_id, counted.group_id, counted.day, -1)
    counted.delete()


def move_host(host_id: int, group_id: int) -> None:
    """The host changed group: its latest audit now counts in the new group."""
    counted = CountedAudit.objects.filter(host_id=host_id).exclude(group_id=group_id).first()
    if counted is None:
        return
    audit_id, day = counted.audit_id, counted.day
    uncount(host_id)
    _count(audit_id, group_id, day, +1)
    CountedAudit.objects.create(host_id=host_id, audit_id=audit_id, group_id=group_id, day=day)


def _record_day(audit: Audit, group_id: int, day: dt.date) -> None:
    """The host's row for the day (its last audit of the day wins) and the group's sums."""
    old = DailyHostSummary.objects.filter(host_id=audit.host_id, day=day).first()
    if old is not None:
        _add_to_group(old.group_id, day, old.passed, old.failed, old.not_applicable, old.score, -1)
    DailyHostSummary.objects.update_or_create(
        host_id=audit.host_id,
        day=day,
        defaults={
            "group_id": group_id,
            "audit": audit,
            "passed": audit.passed,
            "failed": audit.failed,
            "not_applicable": audit.not_applicable,
            "score": audit.score,
        },
    )
    _add_to_group(group_id, day, audit.passed, audit.failed, audit.not_applicable, audit.score, 1)


def _add_to_group(
    group_id: int,
    day: dt.date,
    passed: int,
    failed: int,
    not_applicable: int,
    score: float | None,
    sign: int,
) -> None:
    DailyGroupSummary.objects.bulk_create(
        [DailyGroupSummary(group_id=group_id, day=day)], ignore_conflicts=True
    )
    DailyGroupSummary.objects.filter(group_id=group_id, day=day).update(
        hosts=F("hosts") + sign,
        passed=F("passed") + sign * passed,
        failed=F("failed") + sign * failed,
        not_applicable=F("not_applicable") + sign * not_applicable,
        scored_hosts=F("scored_hosts") + (sign if score is not None else 0),
        score_sum=F("score_sum") + (sign * score if score is not None else 0.0),
    )


def _count(audit_id: int, group_id: int, day: dt.date, sign: int) -> None:
    """Add (+1) or remove (-1) one audit's results to the (group, day) check counters."""
    by_status: dict[str, list[int]] = defaultdict(list)
    categories: dict[int, str] = {}
    rows = Result.objects.filter(audit_id=audit_id).values_list(
        "policy_check_id", "status", "policy_check__category"
    )
    for check_id, status, category in rows:
        by_status[_STATUS_FIELDS[status]].append(check_id)
        categories[check_id] = category
    here = LatestCheckCount.objects.filter(group_id=group_id, day=day)
    if sign > 0:
        _ensure_rows(group_id, day, categories)
    for field, check_ids in by_status.items():
        # Sorted ids: concurrent audits lock counter rows in the same order (no deadlocks).
        check_ids.sort()
        updated = here.filter(policy_check_id__in=check_ids).update(**{field: F(field) + sign})
        if sign > 0 and updated < len(check_ids):
            # A concurrent decrement removed an emptied row between our insert and update.
            _ensure_rows(group_id, day, categories)
            missing = set(check_ids) - set(
                here.filter(policy_check_id__in=check_ids).values_list("policy_check_id", flat=True)
            )
            here.filter(policy_check_id__in=sorted(missing)).update(**{field: F(field) + sign})
    if sign < 0 and day < day_of(timezone.now()):
        # Emptied rows of past days only: today's rows are where new audits count.
        here.filter(passed=0, failed=0, not_applicable=0).delete()


def _ensure_rows(group_id: int, day: dt.date, categories: dict[int, str]) -> None:
    LatestCheckCount.objects.bulk_create(
        [
            LatestCheckCount(group_id=group_id, day=day, policy_check_id=pk, category=category)
            for pk, category in sorted(categories.items())
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
