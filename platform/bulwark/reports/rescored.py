"""Report aggregates after a re-scoring: the moved counts applied as deltas, so a fleet-wide
exception costs a few statements, not a recount of every result."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import connection

from bulwark.audits.rescoring import AuditChange, update_from_values
from bulwark.reports.models import (
    CountedAudit,
    DailyGroupSummary,
    DailyHostSummary,
    LatestCheckCount,
)

_LCC = LatestCheckCount._meta.db_table
_DGS = DailyGroupSummary._meta.db_table


def apply_changes(changes: list[AuditChange]) -> None:
    by_audit = {c.audit_id: c for c in changes}
    _host_and_group_days(by_audit)
    _check_counters(by_audit)


def _host_and_group_days(by_audit: dict[int, AuditChange]) -> None:
    rows = DailyHostSummary.objects.filter(audit_id__in=by_audit).values_list(
        "pk", "audit_id", "group_id", "day", "failed", "score"
    )
    updates = []
    sums: dict[tuple[int, Any], list[float]] = {}
    for pk, audit_id, group_id, day, failed, old_score in rows:
        change = by_audit[audit_id]
        updates.append((pk, change.new_failed, change.new_score))
        total = sums.setdefault((group_id, day), [0, 0, 0.0])
        total[0] += change.new_failed - failed
        total[1] += (change.new_score is not None) - (old_score is not None)
        total[2] += (change.new_score or 0.0) - (old_score or 0.0)
    update_from_values(
        DailyHostSummary._meta.db_table,
        ("failed", "score"),
        ("INTEGER", "DOUBLE PRECISION"),
        updates,
    )
    if not sums:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {_DGS} SET failed = failed + %s, scored_hosts = scored_hosts + %s,"  # noqa: S608
            " score_sum = score_sum + %s WHERE group_id = %s AND day = %s",
            [
                (int(f), int(s), float(total), group_id, connection.ops.adapt_datefield_value(day))
                for (group_id, day), (f, s, total) in sorted(sums.items())
            ],
        )


def _check_counters(by_audit: dict[int, AuditChange]) -> None:
    deltas: Counter[tuple[int, Any, int]] = Counter()
    for audit_id, group_id, day in CountedAudit.objects.filter(audit_id__in=by_audit).values_list(
        "audit_id", "group_id", "day"
    ):
        for check_pk, delta in by_audit[audit_id].checks.items():
            deltas[(group_id, day, check_pk)] += delta
    rows = [
        (d, d, group_id, connection.ops.adapt_datefield_value(day), check_pk)
        for (group_id, day, check_pk), d in sorted(deltas.items())
        if d
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {_LCC} SET failed = failed - %s, excepted = excepted + %s"  # noqa: S608
                " WHERE group_id = %s AND day = %s AND policy_check_id = %s",
                rows,
            )
