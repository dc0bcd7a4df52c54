"""Re-scoring stored audits when assignments change (policies, levels, profile): no host is
contacted (docs/scoring.md, "Changing an assignment").

Narrowing is derived from stored results: in each affected host's latest audit the results of
checks now out of scope are deleted (a check outside the profile is not stored), with the
verdicts of policies no longer assigned; the audit's counts, scores and category summaries,
the host's numbers, a "re-scored" history point and the report aggregates (through the
`audits_rescoped` signal) follow in the same transaction. Set-based: one DELETE ... RETURNING
per distinct selection (a group's, or a host with assignments of its own), whatever the number
of hosts.

Widening cannot be derived: a check the latest audit never evaluated has no stored verdict.
Such hosts are marked "needs re-audit" (Host.scope_widened_at and the reason) until an audit
started after the change is stored; their score meanwhile covers the checks evaluated.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from bulwark.audits import history
from bulwark.audits.models import Audit, CategorySummary, Result
from bulwark.audits.rescoring import history_points, update_from_values, update_hosts
from bulwark.audits.targeting import selection_in
from bulwark.audits.targets import Assignment, PolicyVerdict
from bulwark.inventory.models import Host
from bulwark.policies.models import Check, Policy
from workers.engine.scoring import score
from workers.engine.selection import PolicySelection

log = logging.getLogger(__name__)

# Sent inside the re-scoping transaction (kwargs: removed, a list of Removed).
audits_rescoped = Signal()

_RESULT = Result._meta.db_table
_VERDICT = PolicyVerdict._meta.db_table
_CHECK = Check._meta.db_table
_COUNTS = ("passed", "failed", "not_applicable", "excepted")


@dataclass
class Removed:
    """What one audit lost: its results of checks now out of scope, by check and status."""

    audit_id: int
    host_id: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    checks: Counter[tuple[int, str]] = field(default_factory=Counter)


@dataclass
class Rescoped:
    removed: list[Removed] = field(default_factory=list)
    needs_audit: list[int] = field(default_factory=list)  # host ids


def rescope(host_ids: Iterable[int] | None, reason: str) -> Rescoped:
    """Bring the latest audits of these hosts (None: every host) to their current selection."""
    outcome = Rescoped()
    with transaction.atomic():
        for selection, audits in _buckets(host_ids).items():
            allowed = in_scope(dict(selection))
            policies = set(
                Policy.objects.filter(policy_id__in=dict(selection)).values_list("pk", flat=True)
            )
            outcome.removed += _drop(list(audits), allowed, policies)
            outcome.needs_audit += _widened(audits, allowed, policies)
        if outcome.removed:
            _apply_counts(outcome.removed, reason)
            audits_rescoped.send(sender=Audit, removed=outcome.removed)
        if outcome.needs_audit:
            Host.objects.filter(pk__in=outcome.needs_audit).update(
                scope_widened_at=timezone.now(), scope_widened_reason=reason[:300]
            )
    log.info(
        "re-scoped %d audit(s), %d host(s) need a re-audit: %s",
        len(outcome.removed),
        len(outcome.needs_audit),
        reason,
    )
    return outcome


def _buckets(
    host_ids: Iterable[int] | None,
) -> dict[frozenset[tuple[str, PolicySelection]], dict[int, int]]:
    """Latest audits (audit id -> host id) grouped by the selection their host has now."""
    latest = Audit.objects.filter(latest=True)
    if host_ids is not None:
        latest = latest.filter(host_id__in=list(host_ids))
    own = set(Assignment.objects.filter(host__isnull=False).values_list("host_id", flat=True))
    by_key: dict[tuple[int, int | None], dict[int, int]] = defaultdict(dict)
    for audit_id, host_id, group_id in latest.values_list("pk", "host_id", "host__group_id"):
        by_key[(group_id, host_id if host_id in own else None)][audit_id] = host_id
    buckets: dict[frozenset[tuple[str, PolicySelection]], dict[int, int]] = defaultdict(dict)
    for (group_id, host_id), audits in by_key.items():
        buckets[frozenset(selection_in(group_id, host_id).items())].update(audits)
    return buckets


def in_scope(selection: dict[str, PolicySelection]) -> list[int]:
    checks = Check.objects.filter(policy__policy_id__in=selection).values_list(
        "pk", "policy__policy_id", "level", "profiles"
    )
    return [
        pk
        for pk, policy_id, level, profiles in checks
        if selection[policy_id].admits(level, profiles or ())
    ]


def _any(column: str, values: Sequence[int]) -> tuple[str, list[Any]]:
    """`column` is one of `values` (one array parameter on PostgreSQL)."""
    if not values:
        return "1 = 0", []
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _drop(audits: list[int], allowed: list[int], policies: set[int]) -> list[Removed]:
    """Delete the out-of-scope results and verdicts of these audits; what each lost."""
    removed: dict[int, Removed] = {}
    for start in range(0, len(audits), 5000):
        part = audits[start : start + 5000]
        in_audits, audit_params = _any("audit_id", part)
        in_scope, scope_params = _any("policy_check_id", allowed)
        in_policies, policy_params = _any("policy_id", sorted(policies))
        # Older audits reduced against these rows keep their results (docs/history.md).
        history.preserve_before_delete(
            f"{in_audits} AND NOT ({in_scope})", [*audit_params, *scope_params]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {_RESULT} WHERE {in_audits} AND NOT ({in_scope})"  # noqa: S608
                " RETURNING audit_id, policy_check_id, status",
                [*audit_params, *scope_params],
            )
            for audit_id, check_pk, status in cursor.fetchall():
                change = removed.setdefault(audit_id, Removed(audit_id))
                change.statuses[status] += 1
                change.checks[(check_pk, status)] += 1
            cursor.execute(
                f"DELETE FROM {_VERDICT} WHERE {in_audits} AND NOT ({in_policies})",  # noqa: S608
                [*audit_params, *policy_params],
            )
    return list(removed.values())


def _widened(audits: dict[int, int], allowed: list[int], policies: set[int]) -> list[int]:
    """Hosts whose latest audit did not evaluate a check now in scope: an in-scope check of a
    policy it found applicable without a result, or a selected policy it did not consider."""
    ids = list(audits)
    found: set[int] = set()
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        in_audits, audit_params = _any("v.audit_id", part)
        in_scope, scope_params = _any("k.id", allowed)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT v.audit_id FROM {_VERDICT} v JOIN {_CHECK} k"  # noqa: S608
                f" ON k.policy_id = v.policy_id AND k.active"
                f" WHERE {in_audits} AND v.status = %s AND {in_scope}"
                f" AND NOT EXISTS (SELECT 1 FROM {_RESULT} r"
                " WHERE r.audit_id = v.audit_id AND r.policy_check_id = k.id)",
                [*audit_params, PolicyVerdict.Status.APPLICABLE.value, *scope_params],
            )
            found |= {row[0] for row in cursor.fetchall()}
        considered: dict[int, set[int]] = defaultdict(set)
        for audit_id, policy_pk in PolicyVerdict.objects.filter(audit_id__in=part).values_list(
            "audit_id", "policy_id"
        ):
            considered[audit_id].add(policy_pk)
        found |= {a for a in part if not policies <= considered[a]}
    return sorted({audits[a] for a in found})


def _apply_counts(removed: list[Removed], reason: str) -> None:
    by_audit = {r.audit_id: r for r in removed}
    rows = []
    for pk, host_id, *counts in Audit.objects.filter(pk__in=by_audit).values_list(
        "pk", "host_id", *_COUNTS
    ):
        change = by_audit[pk]
        change.host_id = host_id
        passed, failed, na, excepted = (
            n - change.statuses[s] for n, s in zip(counts, _COUNTS, strict=True)
        )
        rows.append(
            (
                pk,
                passed,
                failed,
                na,
                excepted,
                score(passed, failed),
                score(passed, failed + excepted),
            )
        )
    update_from_values(
        Audit._meta.db_table,
        (*_COUNTS, "score", "raw_score"),
        ("INTEGER",) * 4 + ("DOUBLE PRECISION",) * 2,
        rows,
    )
    _update_categories(removed)
    ids = list(by_audit)
    update_hosts(ids)
    history_points(ids, reason, timezone.now())


def _update_categories(removed: list[Removed]) -> None:
    """Take the removed results out of their category summaries; a summary left empty goes."""
    category = dict(
        Check.objects.filter(pk__in={pk for r in removed for pk, _ in r.checks}).values_list(
            "pk", "category"
        )
    )
    deltas: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for change in removed:
        for (pk, status), n in change.checks.items():
            deltas[(change.audit_id, category[pk][:200])][status] += n
    summaries = CategorySummary.objects.filter(
        audit_id__in={a for a, _ in deltas}, category__in={c for _, c in deltas}
    ).values_list("pk", "audit_id", "category", *_COUNTS)
    rows, empty = [], []
    for pk, audit_id, name, *counts in summaries:
        delta = deltas.get((audit_id, name))
        if not delta:
            continue
        passed, failed, na, excepted = (n - delta[s] for n, s in zip(counts, _COUNTS, strict=True))
        if passed + failed + na + excepted == 0:
            empty.append(pk)
            continue
        rows.append((pk, passed, failed, na, excepted, score(passed, failed)))
    CategorySummary.objects.filter(pk__in=empty).delete()
    update_from_values(
        CategorySummary._meta.db_table,
        (*_COUNTS, "score"),
        ("INTEGER",) * 4 + ("DOUBLE PRECISION",),
        rows,
    )
