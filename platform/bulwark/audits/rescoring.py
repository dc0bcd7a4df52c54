"""Re-scoring stored audits when exceptions change: no host is contacted.

Set-based: one UPDATE puts every excepted result of the target audits back to failed, one
marks the failed results an active exception covers as excepted (both RETURNING what they
touched), and only the audits whose counts really moved are rewritten, with their category
summaries, their host's latest numbers and state, and a history point saying why. The report
aggregates follow through the `audits_rescored` signal, in the same transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from bulwark.audits import history
from bulwark.audits.models import Audit, CategorySummary, Result, ScoreSample
from bulwark.audits.risks import RiskException
from bulwark.inventory.models import Group, Host, HostState
from bulwark.policies.models import Check
from workers.engine.scoring import score

log = logging.getLogger(__name__)
CHUNK = 4000

# Sent inside the re-scoring transaction (kwargs: changes, a list of AuditChange).
audits_rescored = Signal()

_RESULT = Result._meta.db_table
_AUDIT = Audit._meta.db_table
_HOST = Host._meta.db_table
_EXC = RiskException._meta.db_table
_GROUP = Group._meta.db_table
_ARRAY_TYPES = {"INTEGER": "int", "DOUBLE PRECISION": "float8", "VARCHAR(10)": "text"}


@dataclass
class AuditChange:
    """How one audit's counts moved: failed results that became excepted count +1 in
    `excepted` and -1 in `failed` (and the reverse)."""

    audit_id: int
    host_id: int = 0
    failed: int = 0  # the delta
    excepted: int = 0
    checks: Counter[int] = field(default_factory=Counter)  # check pk -> excepted delta
    new_failed: int = 0
    new_score: float | None = None


def rescore(
    host_ids: Iterable[int] | None, reason: str, *, audit_ids: Sequence[int] | None = None
) -> list[AuditChange]:
    """Apply the exceptions in effect today to the latest audits of these hosts (None: the
    whole fleet), or to `audit_ids` when given (a freshly stored audit: its own history point
    is corrected, no "re-scored" point is added). Returns the audits whose counts moved."""
    targets, params = _targets(host_ids, audit_ids)
    if audit_ids is not None and not _anything_to_flip(targets, params):
        return []
    with transaction.atomic():
        # Older audits reduced against these rows keep their results (docs/history.md).
        history.preserve_before_update(targets, params)
        moved = _flip(targets, params)
        if not moved:
            return []
        changes = _apply_counts(moved, reason if audit_ids is None else "")
        if audit_ids is None:
            # A fresh audit enters the aggregates after this, with its final counts.
            audits_rescored.send(sender=Audit, changes=changes)
    log.info("re-scored %d audit(s): %s", len(changes), reason)
    return changes


def _targets(
    host_ids: Iterable[int] | None, audit_ids: Sequence[int] | None
) -> tuple[str, list[Any]]:
    if audit_ids is not None:
        marks = ", ".join(["%s"] * len(audit_ids)) or "NULL"
        return f"audit_id IN ({marks})", list(audit_ids)
    if host_ids is None:
        return f"audit_id IN (SELECT id FROM {_AUDIT} WHERE latest)", []  # noqa: S608
    hosts = list(host_ids)
    marks = ", ".join(["%s"] * len(hosts)) or "NULL"
    return (
        f"audit_id IN (SELECT id FROM {_AUDIT} WHERE latest AND host_id IN ({marks}))",  # noqa: S608
        hosts,
    )


def _anything_to_flip(targets: str, params: list[Any]) -> bool:
    """Whether a re-scoring can touch a target row: only excepted rows, and failed rows of
    checks with an active exception, are ever copied (preserve_before_update) or flipped.
    Most fresh audits have neither (every store asks, for its audit): one query then, not
    six. Two EXISTS, each on its index (excepted rows; checks with their status)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {_RESULT} WHERE status = 'excepted' AND {targets})"  # noqa: S608
            f" OR EXISTS (SELECT 1 FROM {_RESULT} WHERE status = 'failed' AND {targets}"
            f"  AND policy_check_id IN (SELECT policy_check_id FROM {_EXC}"
            "   WHERE status = 'active'))",
            [*params, *params],
        )
        return bool(cursor.fetchone()[0])


def _flip(targets: str, params: list[Any]) -> dict[int, AuditChange]:
    today = timezone.localdate()
    covering = (
        f"FROM {_EXC} e, {_AUDIT} a, {_HOST} h"
        f" WHERE a.id = {_RESULT}.audit_id AND h.id = a.host_id"
        f" AND e.policy_check_id = {_RESULT}.policy_check_id"
        " AND e.status = 'active' AND e.expires_at >= %s"
        " AND (e.host_id = h.id OR e.group_id = h.group_id"
        " OR (e.host_id IS NULL AND e.group_id IS NULL))"
    )
    moved: dict[int, AuditChange] = {}
    with connection.cursor() as cursor:
        # Only rows whose state changes are written: an excepted result that another active
        # exception still covers stays as it is (rewriting it would cost as much as a flip).
        cursor.execute(
            f"UPDATE {_RESULT} SET status = 'failed', exception_id = NULL"  # noqa: S608
            f" WHERE status = 'excepted' AND {targets} AND NOT EXISTS (SELECT 1 {covering})"
            " RETURNING audit_id, policy_check_id",
            [*params, today],
        )
        for audit_id, check_pk in cursor.fetchall():
            change = moved.setdefault(audit_id, AuditChange(audit_id))
            change.failed += 1
            change.excepted -= 1
            change.checks[check_pk] -= 1
        # The most specific exception wins (host, then group, then fleet), then the latest
        # expiry: the result shows the one that will keep it excepted longest.
        cursor.execute(
            f"UPDATE {_RESULT} SET status = 'excepted', exception_id = ("  # noqa: S608
            f"SELECT e.id {covering} ORDER BY e.host_id IS NULL, e.group_id IS NULL,"
            " e.expires_at DESC, e.id LIMIT 1)"
            f" WHERE status = 'failed' AND {targets}"
            f" AND policy_check_id IN (SELECT policy_check_id FROM {_EXC}"
            " WHERE status = 'active' AND expires_at >= %s)"
            f" AND EXISTS (SELECT 1 {covering})"
            " RETURNING audit_id, policy_check_id",
            [today, *params, today, today],
        )
        for audit_id, check_pk in cursor.fetchall():
            change = moved.setdefault(audit_id, AuditChange(audit_id))
            change.failed -= 1
            change.excepted += 1
            change.checks[check_pk] += 1
        # Still excepted, but by an exception no longer in effect: point at the one that is.
        cursor.execute(
            f"UPDATE {_RESULT} SET exception_id = ("  # noqa: S608
            f"SELECT e.id {covering} ORDER BY e.host_id IS NULL, e.group_id IS NULL,"
            " e.expires_at DESC, e.id LIMIT 1)"
            f" WHERE status = 'excepted' AND {targets} AND (exception_id IS NULL OR"
            f" exception_id NOT IN (SELECT id FROM {_EXC} WHERE status = 'active'"
            " AND expires_at >= %s))",
            [today, *params, today],
        )
    for change in moved.values():
        change.checks = Counter({k: v for k, v in change.checks.items() if v})
    return {k: c for k, c in moved.items() if c.checks}


def _apply_counts(moved: dict[int, AuditChange], reason: str) -> list[AuditChange]:
    now = timezone.now()
    ids = list(moved)
    for start in range(0, len(ids), CHUNK):
        chunk = [moved[i] for i in ids[start : start + CHUNK]]
        rows = Audit.objects.filter(pk__in=[c.audit_id for c in chunk]).values_list(
            "pk", "host_id", "passed", "failed", "excepted", "latest"
        )
        audit_rows, latest = [], []
        for pk, host_id, passed, failed, excepted, is_latest in rows:
            change = moved[pk]
            change.host_id = host_id
            change.new_failed = failed + change.failed
            change.new_score = score(passed, change.new_failed)
            audit_rows.append((pk, change.new_failed, excepted + change.excepted, change.new_score))
            if is_latest:
                latest.append(change)
        update_from_values(
            _AUDIT,
            ("failed", "excepted", "score"),
            ("INTEGER", "INTEGER", "DOUBLE PRECISION"),
            audit_rows,
        )
        _update_categories(chunk)
        update_hosts([c.audit_id for c in latest])
        history_points([c.audit_id for c in chunk], reason, now)
    return list(moved.values())


def _update_categories(chunk: list[AuditChange]) -> None:
    check_pks = {pk for change in chunk for pk in change.checks}
    category = dict(Check.objects.filter(pk__in=check_pks).values_list("pk", "category"))
    deltas: dict[tuple[int, str], int] = Counter()
    for change in chunk:
        for pk, delta in change.checks.items():
            deltas[(change.audit_id, category[pk][:200])] += delta
    summaries = CategorySummary.objects.filter(
        audit_id__in={a for a, _ in deltas}, category__in={c for _, c in deltas}
    ).values_list("pk", "audit_id", "category", "passed", "failed", "excepted")
    rows = []
    for pk, audit_id, name, passed, failed, excepted in summaries:
        delta = deltas.get((audit_id, name))
        if delta:
            rows.append((pk, failed - delta, excepted + delta, score(passed, failed - delta)))
    update_from_values(
        CategorySummary._meta.db_table,
        ("failed", "excepted", "score"),
        ("INTEGER", "INTEGER", "DOUBLE PRECISION"),
        rows,
    )


def update_hosts(ids: list[int]) -> None:
    """The hosts' latest numbers and state from these re-scored latest audits: one UPDATE,
    the state's thresholds resolved as Host.thresholds() does (host, group, settings)."""
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    state = (
        "CASE WHEN a.score IS NULL THEN %s"
        f" WHEN a.score < COALESCE({_HOST}.critical_below, g.critical_below, %s) THEN %s"
        f" WHEN a.score < COALESCE({_HOST}.warning_below, g.warning_below, %s) THEN %s"
        " ELSE %s END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_HOST} SET latest_failed = a.failed, latest_excepted = a.excepted,"  # noqa: S608
            " latest_passed = a.passed, latest_not_applicable = a.not_applicable,"
            f" latest_score = a.score, latest_raw_score = a.raw_score, state = ({state})"
            f" FROM {_AUDIT} a, {_GROUP} g"
            f" WHERE a.id IN ({marks}) AND a.latest AND a.host_id = {_HOST}.id"
            f" AND g.id = {_HOST}.group_id",
            [
                HostState.UNKNOWN.value,
                float(settings.SCORE_CRITICAL_BELOW),
                HostState.CRITICAL.value,
                float(settings.SCORE_WARNING_BELOW),
                HostState.WARNING.value,
                HostState.OK.value,
                *ids,
            ],
        )


def history_points(ids: list[int], reason: str, now: Any) -> None:
    """A "re-scored" history point per audit with its numbers now and why (`reason` empty: a
    fresh audit, whose own point takes its final numbers)."""
    if not reason:
        # A fresh audit: its own history point takes the excepted numbers.
        audits = Audit.objects.filter(pk__in=ids).values_list("pk", "failed", "excepted", "score")
        update_from_values(
            ScoreSample._meta.db_table,
            ("failed", "excepted", "score"),
            ("INTEGER", "INTEGER", "DOUBLE PRECISION"),
            [(pk, f, e, s) for pk, f, e, s in audits],
            key="audit_id",
        )
        return
    marks = ", ".join(["%s"] * len(ids))
    columns = "host_id, audit_id, time, failed, not_applicable, passed, excepted, score, raw_score"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ScoreSample._meta.db_table} ({columns}, rescored)"  # noqa: S608
            f" SELECT host_id, id, %s, failed, not_applicable, passed, excepted, score,"
            f" raw_score, %s FROM {_AUDIT} WHERE id IN ({marks})",
            [now, reason[:300], *ids],
        )


def update_from_values(
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    key: str = "id",
) -> None:
    """UPDATE table SET columns FROM (VALUES rows) keyed on `key`: one statement per chunk,
    the same SQL on PostgreSQL and SQLite (>= 3.33)."""
    if not rows:
        return
    sets = ", ".join(f"{column} = v.v{n}" for n, column in enumerate(columns))
    names = ", ".join(["k", *[f"v{n}" for n in range(len(columns))]])
    if connection.vendor == "postgresql":
        # One array per column: a few parameters whatever the row count (fast to plan).
        arrays = ", ".join(["%s::bigint[]", *[f"%s::{_ARRAY_TYPES[t]}[]" for t in types]])
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({names})"  # noqa: S608
                f" WHERE {table}.{key} = v.k",
                [list(column) for column in zip(*rows, strict=True)],
            )
        return
    casts = ", ".join(["CAST(%s AS BIGINT)", *[f"CAST(%s AS {t})" for t in types]])
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        values = ", ".join([f"({casts})"] * len(part))
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH v({names}) AS (VALUES {values})"  # noqa: S608
                f" UPDATE {table} SET {sets} FROM v WHERE {table}.{key} = v.k",
                [value for row in part for value in row],
            )
