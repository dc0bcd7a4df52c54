"""Storing a finished audit: one transaction, bulk inserts, idempotent on retry.

The write is fenced by the claim: it happens only while the audit is still running under the
same attempt, so a worker whose lease was taken over cannot store stale results. Whatever a
previous attempt left is replaced, never duplicated.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.dispatch import Signal
from django.utils import timezone

from bulwark.audits import alerts, history, kept_facts
from bulwark.audits.kept_facts import KeptFacts
from bulwark.audits.models import Audit, AuditStatus, CategorySummary, Result, ScoreSample
from bulwark.audits.rescoring import rescore
from bulwark.audits.storable import storable, storable_json
from bulwark.audits.targets import PolicyVerdict
from bulwark.audits.verdicts import store_verdicts
from bulwark.inventory.models import Host, HostState
from bulwark.policies.models import Policy
from workers.audit import AuditOutcome, HostInfo

log = logging.getLogger(__name__)
# One result as stored: (check pk, status, reason, evidence, the evidence as JSON text).
ResultRow = tuple[int, str, str, list[dict[str, str]], str]

# Sent inside the store transaction once `audit` is its host's latest (kwargs: audit). The
# reports app keeps its aggregates with it, in the same commit, without audits importing it.
audit_stored = Signal()


@dataclass(frozen=True)
class Claim:
    """A won claim: the audit, its host, and the attempt number that fences our writes."""

    audit_id: int
    host_id: int
    attempt: int


@dataclass(frozen=True)
class SeenKeys:
    """Host keys the connection saw, for trust-on-first-use pinning."""

    host: str | None = None
    jump: str | None = None


def store_outcome(claim: Claim, outcome: AuditOutcome, seen: SeenKeys | None = None) -> bool:
    """Record the outcome; False when the claim was lost (nothing written)."""
    summary = outcome.summary
    now = timezone.now()
    with transaction.atomic():
        won = Audit.objects.filter(
            pk=claim.audit_id, status=AuditStatus.RUNNING, attempts=claim.attempt
        ).update(
            status=AuditStatus.DONE,
            finished_at=now,
            lease_expires=None,
            error_reason="",
            passed=summary.passed,
            failed=summary.failed,
            not_applicable=summary.not_applicable,
            score=summary.score,
            raw_score=summary.score,
            excepted=0,
            host_facts=storable_json(outcome.host.as_dict()),
            seconds=round(outcome.seconds, 3),
        )
        if won != 1:
            log.warning("audit %s: claim lost before storing; results dropped", claim.audit_id)
            return False
        # The host's row lock serializes its stores: its audits join its chain of results
        # one at a time, in the order they are stored (audits/history.py).
        host = (
            Host.objects.select_for_update(of=("self",))
            .select_related("group", "credential__jump_host")
            .get(pk=claim.host_id)
        )
        Audit.objects.filter(pk=claim.audit_id).update(stored_seq=history.next_seq(host.pk))
        audit = Audit.objects.get(pk=claim.audit_id)
        failed_pks = _replace_results(audit, outcome)
        kept_facts.keep(audit.pk, claim.host_id, outcome.facts, replace=False)
        # Exceptions in effect apply from the first store: failed -> excepted, score up.
        if rescore(None, "", audit_ids=[audit.pk]):
            audit.refresh_from_db()
            failed_pks = list(
                Result.objects.filter(audit=audit, status=Result.Status.FAILED).values_list(
                    "policy_check_id", flat=True
                )
            )
        previous_state = HostState(host.state)
        state = alerts.state_for(audit.score, *host.thresholds())
        latest = Audit.objects.filter(host_id=host.pk, latest=True)
        previous = latest.values_list("pk", flat=True).first()
        regressed = alerts.regressed_checks(previous, failed_pks)
        latest.update(latest=False)
        Audit.objects.filter(pk=audit.pk).update(latest=True)
        _update_host(host, audit, storable_json(outcome.host.as_dict()), state, now)
        audit_stored.send(sender=Audit, audit=audit)
        _pin_keys(host, seen)
        alerts.after_audit(audit, host, previous_state, state, regressed)
        # Last: everything above read the previous audit in full (regressions, the report
        # counters taking it out). Now it keeps only what differs from this one (and any
        # reduction of this host left pending by a failure is redone).
        history.reduce_pending(host.pk)
    return True


def _replace_results(audit: Audit, outcome: AuditOutcome) -> list[int]:
    """Write results, verdicts, category summaries and the score sample (replacing whatever a
    previous attempt left); returns the failed check pks as stored (before exceptions)."""
    _delete_attempt(audit.pk)
    policies, checks = _catalogue({evaluation.policy.id for evaluation in outcome.policies})
    store_verdicts(audit, outcome, policies)
    rows: list[ResultRow] = []
    failed, missing = [], 0
    dumps = json.dumps
    for result in outcome.results:
        check_pk = checks.get((result.policy_id, result.check.id))
        if check_pk is None:
            missing += 1
            continue
        status = result.status.value
        if status == Result.Status.FAILED:
            failed.append(check_pk)
        evidence = [e.as_dict() for e in result.evidence]
        text = dumps(evidence)
        # ASCII JSON shows a NUL as \u0000 and a surrogate as \udXXX: only then is there
        # anything to make storable (most evidence is plain text; this skips the walk).
        if "\\u0000" in text or "\\ud" in text:
            evidence = storable_json(evidence)
            text = dumps(evidence)
        rows.append((check_pk, status, storable(result.reason or ""), evidence, text))
    if missing:
        log.warning("audit %s: %d results for checks not in the catalogue", audit.pk, missing)
    _insert_results(audit.pk, rows)
    CategorySummary.objects.bulk_create(
        [
            CategorySummary(
                audit=audit,
                category=storable(c.category)[:200],
                passed=c.passed,
                failed=c.failed,
                not_applicable=c.not_applicable,
                score=c.score,
            )
            for c in outcome.categories
        ]
    )
    ScoreSample.objects.create(
        host_id=audit.host_id,
        audit=audit,
        time=audit.finished_at,
        failed=audit.failed,
        not_applicable=audit.not_applicable,
        passed=audit.passed,
        score=audit.score,
        raw_score=audit.raw_score,
    )
    return failed


# What a store writes per audit, so what a previous attempt of it may have left.
_ATTEMPT_TABLES = (Result, CategorySummary, ScoreSample, PolicyVerdict, KeptFacts)


def _delete_attempt(audit_id: int) -> None:
    """Delete what a previous attempt of the audit stored: on PostgreSQL in one statement
    (one round trip instead of five: a store is mostly round trips). Plain DELETEs, as
    Django's own for these tables: no rows depend on them, no delete signals."""
    if connection.vendor != "postgresql":
        for model in _ATTEMPT_TABLES:
            model.objects.filter(audit_id=audit_id).delete()
        return
    parts = ", ".join(
        f"d{n} AS (DELETE FROM {model._meta.db_table} WHERE audit_id = %s)"  # noqa: S608
        for n, model in enumerate(_ATTEMPT_TABLES)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {parts} SELECT 1", [audit_id] * len(_ATTEMPT_TABLES))


def _catalogue(
    policy_ids: set[str],
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """The pks of these policies and of their checks by (policy id, check id): one query."""
    policies: dict[str, int] = {}
    checks: dict[tuple[str, str], int] = {}
    rows = Policy.objects.filter(policy_id__in=policy_ids).values_list(
        "policy_id", "pk", "checks__check_id", "checks__pk"
    )
    for policy_id, policy_pk, check_id, check_pk in rows:
        policies[policy_id] = policy_pk
        if check_pk is not None:
            checks[(policy_id, check_id)] = check_pk
    return policies, checks


def _insert_results(audit_id: int, rows: list[ResultRow]) -> None:
    """Insert (check pk, status, reason, evidence, evidence as JSON) rows: COPY on PostgreSQL
    (several times faster than a multi-row INSERT for a few hundred rows with JSON evidence:
    no model instances, no SQL to build, no parameters to adapt), one prepared INSERT run for
    every row elsewhere (SQLite, the embedded default: bulk_create built a model instance and
    adapted every field of every row, three quarters of a store's time there). The evidence
    goes in as the JSON text already made, which is what the JSON column holds on both."""
    columns = "audit_id, policy_check_id, status, reason, evidence"
    if connection.vendor != "postgresql":
        statement = (
            f"INSERT INTO {Result._meta.db_table} ({columns}) "  # noqa: S608 (no user input)
            "VALUES (%s, %s, %s, %s, %s)"
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                statement,
                [
                    (audit_id, check_pk, status, reason, text)
                    for check_pk, status, reason, _, text in rows
                ],
            )
        return
    statement = f"COPY {Result._meta.db_table} ({columns}) FROM STDIN"
    # The raw psycopg COPY bypasses Django's error translation: wrap it, so a refused row or a
    # lost connection is a django.db error that the audit's handling knows.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for check_pk, status, reason, _, text in rows:
            copy.write_row((audit_id, check_pk, status, reason, text))


def promote_previous(host_id: int) -> Audit | None:
    """The host's latest audit has just been deleted: the newest audit left that kept its
    results becomes the latest (what the host's page, the dashboards and the reports show), as
    if just stored, without alerts (nothing was found anew). None when there is none."""
    previous = (
        Audit.objects.filter(
            host_id=host_id,
            status=AuditStatus.DONE,
            stored_seq__isnull=False,
            results_purged_at__isnull=True,
        )
        .order_by("-stored_seq")
        .first()
    )
    host = Host.objects.select_for_update(of=("self",)).filter(pk=host_id).first()
    if (
        previous is None
        or host is None
        or Audit.objects.filter(host_id=host_id, latest=True).exists()
    ):
        return None
    # The audit before a deleted one is stored in full again first (history.before_delete).
    history.materialize(previous.pk)
    Audit.objects.filter(pk=previous.pk).update(latest=True)
    previous.latest = True
    state = alerts.state_for(previous.score, *host.thresholds())
    _update_host(host, previous, previous.host_facts or {}, state, previous.finished_at)
    audit_stored.send(sender=Audit, audit=previous)
    return previous


def _update_host(
    host: Host, audit: Audit, facts: dict[str, Any], state: HostState, now: object
) -> None:
    # The facts as stored with the audit (host_facts); an older audit may lack a field.
    info = HostInfo(**{name: str(facts.get(name) or "") for name in HostInfo.__dataclass_fields__})
    covered = Q(scope_widened_at__lte=audit.started_at)
    # A conditional UPDATE of our fields only: never overwrites an edit made meanwhile.
    Host.objects.filter(pk=host.pk).update(
        last_audit_at=now,
        latest_score=audit.score,
        latest_passed=audit.passed,
        latest_failed=audit.failed,
        latest_not_applicable=audit.not_applicable,
        latest_excepted=audit.excepted,
        latest_raw_score=audit.raw_score,
        last_audit_error="",
        last_audit_error_at=None,
        state=state,
        os_family=info.family[:50],
        os_distribution=info.distribution[:100],
        os_version=info.version[:100],
        os_name=info.pretty_name[:200],
        kernel=info.kernel[:200],
        architecture=info.architecture[:50],
        reported_hostname=info.hostname[:255],
        # This audit evaluated the scope as it was when it started: a widening made before
        # that is now covered; one made while it ran is not (the mark stays).
        scope_widened_at=Case(When(covered, then=None), default=F("scope_widened_at")),
        scope_widened_reason=Case(When(covered, then=Value("")), default=F("scope_widened_reason")),
    )


def _pin_keys(host: Host, seen: SeenKeys | None) -> None:
    """Trust on first use: pin the key seen, only where none is pinned yet."""
    if seen is None:
        return
    pinnable = Host.objects.filter(host_key="")
    if (
        seen.host
        and host.trust_on_first_use
        and pinnable.filter(pk=host.pk).update(host_key=seen.host)
    ):
        log.info("host %s: pinned its host key on first use", host.name)
    jump = host.credential.jump_host if host.credential else None
    if (
        seen.jump
        and jump is not None
        and jump.trust_on_first_use
        and pinnable.filter(pk=jump.pk).update(host_key=seen.jump)
    ):
        log.info("jump host %s: pinned its host key on first use", jump.name)
