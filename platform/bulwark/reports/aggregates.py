"""Keeping the report aggregates in step with stored audits.

Called inside the store transaction (audits.store sends `audit_stored`), so an audit and its
aggregates commit together. Set-based: an audit costs one read and five writes whatever its
number of checks (the host's day row, the group's day sums, one INSERT ... SELECT ... ON
CONFLICT DO UPDATE adding the audit's results to the check counters and taking the host's
previous audit out of them in the same statement, the same deltas to the check totals, and
the counted-audit marker). Rows are written in key order, so concurrent stores lock shared
counter rows in the same order (no deadlocks). The SQL is portable: PostgreSQL and SQLite
(>= 3.24, upsert) run the same text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from bulwark.audits.models import Audit, Result
from bulwark.inventory.models import Host
from bulwark.policies.models import Check
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
_DHS = DailyHostSummary._meta.db_table
_COUNTED = CountedAudit._meta.db_table
_RESULT = Result._meta.db_table
_CHECK = Check._meta.db_table
_HOST = Host._meta.db_table


def day_of(moment: dt.datetime) -> dt.date:
    """The report day of a time: the date in the configured TIME_ZONE."""
    return timezone.localdate(moment)


@dataclass(frozen=True)
class _Counted:
    """One audit's results in the check counters under (group, day)."""

    audit_id: int
    group_id: int
    day: dt.date


def _day(day: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def record_audit(audit: Audit) -> None:
    """`audit` just became its host's latest: add it to the daily and latest aggregates."""
    assert audit.finished_at is not None
    day = day_of(audit.finished_at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT h.group_id, c.audit_id, c.group_id, c.day,"  # noqa: S608
            f" d.group_id, d.passed, d.failed, d.not_applicable, d.score, d.excepted, d.raw_score"
            f" FROM {_HOST} h"
            f" LEFT JOIN {_COUNTED} c ON c.host_id = h.id"
            f" LEFT JOIN {_DHS} d ON d.host_id = h.id AND d.day = %s"
            f" WHERE h.id = %s",
            [_day(day), audit.host_id],
        )
        group_id, c_audit, c_group, c_day, *old_day = cursor.fetchone()
        old = None if c_audit is None else _Counted(c_audit, c_group, _as_date(c_day))
        batch = _Batch()
        _record_day(batch, audit, group_id, day, old_day)
        _count(batch, [(old, -1), (_Counted(audit.pk, group_id, day), +1)])
        batch.execute(
            f"INSERT INTO {_COUNTED} (host_id, audit_id, group_id, day) VALUES (%s, %s, %s, %s)"  # noqa: S608
            f" ON CONFLICT (host_id) DO UPDATE SET audit_id = excluded.audit_id,"
            f" group_id = excluded.group_id, day = excluded.day",
            [audit.host_id, audit.pk, group_id, _day(day)],
        )
        batch.run(cursor)
        _forget_emptied(cursor, old)


def uncount(host_id: int) -> None:
    """Take a host's counted audit out of LatestCheckCount (before a group move or a
    deletion)."""
    counted = CountedAudit.objects.filter(host_id=host_id).first()
    if counted is None:
        return
    old = _Counted(counted.audit_id, counted.group_id, counted.day)
    with connection.cursor() as cursor:
        _count(cursor, [(old, -1)])
        _forget_emptied(cursor, old)
    counted.delete()


def move_host(host_id: int, group_id: int) -> None:
    """The host changed group: its latest audit now counts in the new group."""
    counted = CountedAudit.objects.filter(host_id=host_id).exclude(group_id=group_id).first()
    if counted is None:
        return
    old = _Counted(counted.audit_id, counted.group_id, counted.day)
    with connection.cursor() as cursor:
        _count(cursor, [(old, -1), (_Counted(old.audit_id, group_id, old.day), +1)])
        _forget_emptied(cursor, old)
    CountedAudit.objects.filter(host_id=host_id).update(group_id=group_id)


class _Batch:
    """Statements collected to run together: on PostgreSQL in one round trip, as the
    data-modifying parts of one WITH (they write different tables or rows, each in its own
    key order); elsewhere one after the other."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    def execute(self, sql: str, params: list[Any]) -> None:
        self.statements.append((sql, params))

    def run(self, cursor: Any) -> None:
        if connection.vendor != "postgresql":
            for sql, params in self.statements:
                cursor.execute(sql, params)
            return
        parts = ", ".join(f"s{n} AS ({sql})" for n, (sql, _) in enumerate(self.statements))
        cursor.execute(f"WITH {parts} SELECT 1", [p for _, ps in self.statements for p in ps])


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _record_day(cursor: Any, audit: Audit, group_id: int, day: dt.date, old: list[Any]) -> None:
    """The host's row for the day (its last audit of the day wins) and the group's sums:
    the new audit added, the day's previous audit of the host (if any) taken out."""
    old_group, old_passed, old_failed, old_na, old_score, old_excepted, old_raw = old
    scored = 0 if audit.score is None else 1
    raw_scored = 0 if audit.raw_score is None else 1
    cursor.execute(
        f"INSERT INTO {_DHS} (host_id, day, group_id, audit_id, passed, failed,"  # noqa: S608
        f" not_applicable, score, excepted, raw_score)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        f" ON CONFLICT (host_id, day) DO UPDATE SET group_id = excluded.group_id,"
        f" audit_id = excluded.audit_id, passed = excluded.passed, failed = excluded.failed,"
        f" not_applicable = excluded.not_applicable, score = excluded.score,"
        f" excepted = excluded.excepted, raw_score = excluded.raw_score",
        [
            audit.host_id,
            _day(day),
            group_id,
            audit.pk,
            audit.passed,
            audit.failed,
            audit.not_applicable,
            audit.score,
            audit.excepted,
            audit.raw_score,
        ],
    )
    # The inserted row is the new audit alone (the counters' CHECK constraints hold on it);
    # the previous audit of the day is subtracted in the update, when it is the same row.
    minus = [0, 0, 0, 0, 0, 0.0, 0, 0, 0.0]
    if old_group is not None:
        old_scored = 0 if old_score is None else 1
        old_raw_scored = 0 if old_raw is None else 1
        old_sums = [
            1,
            old_passed,
            old_failed,
            old_na,
            old_scored,
            old_score or 0.0,
            old_excepted or 0,
            old_raw_scored,
            old_raw or 0.0,
        ]
        if old_group == group_id:
            minus = old_sums
        else:
            cursor.execute(
                f"UPDATE {_DGS} SET hosts = hosts - %s, passed = passed - %s,"  # noqa: S608
                f" failed = failed - %s, not_applicable = not_applicable - %s,"
                f" scored_hosts = scored_hosts - %s, score_sum = score_sum - %s,"
                f" excepted = excepted - %s, raw_scored_hosts = raw_scored_hosts - %s,"
                f" raw_score_sum = raw_score_sum - %s"
                f" WHERE group_id = %s AND day = %s",
                [*old_sums, old_group, _day(day)],
            )
    cursor.execute(
        f"INSERT INTO {_DGS} (group_id, day, hosts, passed, failed, not_applicable,"  # noqa: S608
        f" scored_hosts, score_sum, excepted, raw_scored_hosts, raw_score_sum)"
        f" VALUES (%s, %s, 1, %s, %s, %s, %s, %s, %s, %s, %s)"
        f" ON CONFLICT (group_id, day) DO UPDATE SET"
        f" hosts = {_DGS}.hosts + excluded.hosts - %s,"
        f" passed = {_DGS}.passed + excluded.passed - %s,"
        f" failed = {_DGS}.failed + excluded.failed - %s,"
        f" not_applicable = {_DGS}.not_applicable + excluded.not_applicable - %s,"
        f" scored_hosts = {_DGS}.scored_hosts + excluded.scored_hosts - %s,"
        f" score_sum = {_DGS}.score_sum + excluded.score_sum - %s,"
        f" excepted = {_DGS}.excepted + excluded.excepted - %s,"
        f" raw_scored_hosts = {_DGS}.raw_scored_hosts + excluded.raw_scored_hosts - %s,"
        f" raw_score_sum = {_DGS}.raw_score_sum + excluded.raw_score_sum - %s",
        [
            group_id,
            _day(day),
            audit.passed,
            audit.failed,
            audit.not_applicable,
            scored,
            audit.score or 0.0,
            audit.excepted,
            raw_scored,
            audit.raw_score or 0.0,
            *minus,
        ],
    )


def _count(cursor: Any, parts: list[tuple[_Counted | None, int]]) -> None:
    """Add (+1) or take out (-1) audits' results to the (group, day, check) counters, in one
    statement: per-check deltas computed from the stored results, rows that do not change
    skipped, rows in key order."""
    selects, params = [], []
    for counted, sign in parts:
        if counted is None:
            continue
        selects.append(
            "SELECT %s AS g, %s AS d, r.policy_check_id AS c,"  # noqa: S608
            " CASE WHEN r.status = %s THEN %s ELSE 0 END AS p,"
            " CASE WHEN r.status = %s THEN %s ELSE 0 END AS f,"
            " CASE WHEN r.status = %s THEN %s ELSE 0 END AS n,"
            " CASE WHEN r.status = %s THEN %s ELSE 0 END AS e"
            f" FROM {_RESULT} r WHERE r.audit_id = %s"
        )
        params += [
            counted.group_id,
            _day(counted.day),
            Result.Status.PASSED.value,
            sign,
            Result.Status.FAILED.value,
            sign,
            Result.Status.NOT_APPLICABLE.value,
            sign,
            Result.Status.EXCEPTED.value,
            sign,
            counted.audit_id,
        ]
    if not selects:
        return
    deltas = " UNION ALL ".join(selects)
    cursor.execute(
        f"INSERT INTO {_LCC} (group_id, day, policy_check_id, category, passed, failed,"  # noqa: S608
        f" not_applicable, excepted)"
        f" SELECT x.g, x.d, x.c, k.category, SUM(x.p), SUM(x.f), SUM(x.n), SUM(x.e)"
        f" FROM ({deltas}) x JOIN {_CHECK} k ON k.id = x.c"
        f" WHERE 1 = 1"
        f" GROUP BY x.g, x.d, x.c, k.category"
        f" HAVING SUM(x.p) <> 0 OR SUM(x.f) <> 0 OR SUM(x.n) <> 0 OR SUM(x.e) <> 0"
        f" ORDER BY x.g, x.d, x.c"
        f" ON CONFLICT (group_id, day, policy_check_id) DO UPDATE SET"
        f" passed = {_LCC}.passed + excluded.passed,"
        f" failed = {_LCC}.failed + excluded.failed,"
        f" not_applicable = {_LCC}.not_applicable + excluded.not_applicable,"
        f" excepted = {_LCC}.excepted + excluded.excepted",
        params,
    )
    # The same deltas without the day: a host audited again in its group changes only the
    # totals of the checks whose status changed (the +1 and -1 of the others cancel out).
    cursor.execute(
        f"INSERT INTO {_TOTAL} (group_id, policy_check_id, passed, failed, not_applicable,"  # noqa: S608
        f" excepted)"
        f" SELECT x.g, x.c, SUM(x.p), SUM(x.f), SUM(x.n), SUM(x.e)"
        f" FROM ({deltas}) x"
        f" WHERE 1 = 1"
        f" GROUP BY x.g, x.c"
        f" HAVING SUM(x.p) <> 0 OR SUM(x.f) <> 0 OR SUM(x.n) <> 0 OR SUM(x.e) <> 0"
        f" ORDER BY x.g, x.c"
        f" ON CONFLICT (group_id, policy_check_id) DO UPDATE SET"
        f" passed = {_TOTAL}.passed + excluded.passed,"
        f" failed = {_TOTAL}.failed + excluded.failed,"
        f" not_applicable = {_TOTAL}.not_applicable + excluded.not_applicable,"
        f" excepted = {_TOTAL}.excepted + excluded.excepted",
        params,
    )


def _forget_emptied(cursor: Any, old: _Counted | None) -> None:
    """Delete the counter rows of a past day emptied by taking `old` out: today's rows are
    where new audits count."""
    if old is None or old.day >= day_of(timezone.now()):
        return
    cursor.execute(
        f"DELETE FROM {_LCC} WHERE group_id = %s AND day = %s"  # noqa: S608
        f" AND passed = 0 AND failed = 0 AND not_applicable = 0 AND excepted = 0",
        [old.group_id, _day(old.day)],
    )
