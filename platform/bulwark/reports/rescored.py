"""Report aggregates after a re-scoring: the moved counts applied as deltas, so a fleet-wide
exception (or a narrowed assignment) costs a few statements, not a recount of every result."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import connection

from bulwark.audits.models import Audit
from bulwark.audits.rescoping_scope import Removed
from bulwark.audits.rescoring import AuditChange, update_from_values
from bulwark.reports.models import (
    CountedAudit,
    DailyGroupSummary,
    DailyHostSummary,
    LatestCheckCount,
    LatestCheckTotal,
)

_LCC = LatestCheckCount._meta.db_table
_TOTAL = LatestCheckTotal._meta.db_table
_DGS = DailyGroupSummary._meta.db_table


def apply_changes(changes: list[AuditChange]) -> None:
    """Exceptions moved results between failed and excepted."""
    by_audit = {c.audit_id: c for c in changes}
    _host_and_group_days(list(by_audit))
    _check_counters(by_audit)


def apply_removals(removed: list[Removed]) -> None:
    """Out-of-scope results were deleted from these audits: they leave every aggregate."""
    _host_and_group_days([r.audit_id for r in removed])
    _removed_from_counters({r.audit_id: r for r in removed})


def _host_and_group_days(audit_ids: list[int]) -> None:
    """The host-day rows of these audits take the audits' numbers now; their groups' day sums
    move by the difference."""
    audits = {
        pk: rest
        for pk, *rest in Audit.objects.filter(pk__in=audit_ids).values_list(
            "pk", "passed", "failed", "not_applicable", "excepted", "score", "raw_score"
        )
    }
    rows = DailyHostSummary.objects.filter(audit_id__in=audit_ids).values_list(
        "pk",
        "audit_id",
        "group_id",
        "day",
        "passed",
        "failed",
        "not_applicable",
        "excepted",
        "score",
        "raw_score",
    )
    updates = []
    sums: dict[tuple[int, Any], list[float]] = {}
    for pk, audit_id, group_id, day, *old in rows:
        new = audits[audit_id]
        updates.append((pk, *new))
        total = sums.setdefault((group_id, day), [0] * 8)
        for n in range(4):
            total[n] += new[n] - old[n]
        for n, (now, was) in enumerate(((new[4], old[4]), (new[5], old[5]))):
            total[4 + 2 * n] += (now is not None) - (was is not None)
            total[5 + 2 * n] += (now or 0.0) - (was or 0.0)
    update_from_values(
        DailyHostSummary._meta.db_table,
        ("passed", "failed", "not_applicable", "excepted", "score", "raw_score"),
        ("INTEGER",) * 4 + ("DOUBLE PRECISION",) * 2,
        updates,
    )
    if not sums:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {_DGS} SET passed = passed + %s, failed = failed + %s,"  # noqa: S608
            " not_applicable = not_applicable + %s, excepted = excepted + %s,"
            " scored_hosts = scored_hosts + %s, score_sum = score_sum + %s,"
            " raw_scored_hosts = raw_scored_hosts + %s, raw_score_sum = raw_score_sum + %s"
            " WHERE group_id = %s AND day = %s",
            [
                (
                    *(int(v) for v in t[:5]),
                    float(t[5]),
                    int(t[6]),
                    float(t[7]),
                    group_id,
                    connection.ops.adapt_datefield_value(day),
                )
                for (group_id, day), t in sorted(sums.items())
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
    totals: Counter[tuple[int, int]] = Counter()
    for (group_id, _, check_pk), d in deltas.items():
        totals[(group_id, check_pk)] += d
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {_LCC} SET failed = failed - %s, excepted = excepted + %s"  # noqa: S608
                " WHERE group_id = %s AND day = %s AND policy_check_id = %s",
                rows,
            )
            cursor.executemany(
                f"UPDATE {_TOTAL} SET failed = failed - %s, excepted = excepted + %s"  # noqa: S608
                " WHERE group_id = %s AND policy_check_id = %s",
                [(d, d, *key) for key, d in sorted(totals.items()) if d],
            )


def _removed_from_counters(by_audit: dict[int, Removed]) -> None:
    deltas: dict[tuple[int, Any, int], Counter[str]] = {}
    for audit_id, group_id, day in CountedAudit.objects.filter(audit_id__in=by_audit).values_list(
        "audit_id", "group_id", "day"
    ):
        for (check_pk, status), n in by_audit[audit_id].checks.items():
            deltas.setdefault((group_id, day, check_pk), Counter())[status] += n
    if not deltas:
        return
    keys = sorted(deltas)
    statuses = ("passed", "failed", "not_applicable", "excepted")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {_LCC} SET passed = passed - %s, failed = failed - %s,"  # noqa: S608
            " not_applicable = not_applicable - %s, excepted = excepted - %s"
            " WHERE group_id = %s AND day = %s AND policy_check_id = %s",
            [
                (
                    *(deltas[k][s] for s in statuses),
                    k[0],
                    connection.ops.adapt_datefield_value(k[1]),
                    k[2],
                )
                for k in keys
            ],
        )
        # A check no host counts any more is in no report (not even with zeros).
        cursor.executemany(
            f"DELETE FROM {_LCC} WHERE group_id = %s AND day = %s AND policy_check_id = %s"  # noqa: S608
            " AND passed = 0 AND failed = 0 AND not_applicable = 0 AND excepted = 0",
            [(k[0], connection.ops.adapt_datefield_value(k[1]), k[2]) for k in keys],
        )
        totals: dict[tuple[int, int], Counter[str]] = {}
        for (group_id, _, check_pk), counted in deltas.items():
            totals.setdefault((group_id, check_pk), Counter()).update(counted)
        cursor.executemany(
            f"UPDATE {_TOTAL} SET passed = passed - %s, failed = failed - %s,"  # noqa: S608
            " not_applicable = not_applicable - %s, excepted = excepted - %s"
            " WHERE group_id = %s AND policy_check_id = %s",
            [(*(totals[k][s] for s in statuses), *k) for k in sorted(totals)],
        )
