"""Audit state changes, each a compare-and-set (a conditional UPDATE that says if it won).

queued -> running (claim, with a lease) -> done (store.py) | error (fail) | queued (retry,
reaper). Tasks, admin actions, commands and the API call these; nothing else writes Audit.status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from bulwark.audits import alerts, delivery, fairness, reasons
from bulwark.audits.budget import Budget, BudgetExceeded
from bulwark.audits.models import ACTIVE, AlertEvent, Audit, AuditStatus
from bulwark.audits.reasons import public_reason
from bulwark.audits.store import Claim, SeenKeys, store_outcome
from bulwark.audits.targeting import selection_for
from bulwark.core.crypto import SecretUnreadable
from bulwark.core.redaction import redact
from bulwark.inventory.access import scope
from bulwark.inventory.connections import open_connection
from bulwark.inventory.models import Host, Role
from bulwark.policies.services import PolicyRefused, enabled_definitions
from workers import audit as audit_runtime
from workers.transports.base import HostKeyChanged, TransportError

log = logging.getLogger(__name__)


def max_attempts() -> int:
    return int(settings.AUDIT_MAX_RETRIES) + 1


# -- start --------------------------------------------------------------------------------------


def start_audits(
    hosts: Iterable[Host],
    *,
    trigger: str = Audit.Trigger.MANUAL,
    command_timeout: float | None = None,
    user: object | None = None,
    countdown: Callable[[Host], int] | None = None,
) -> list[Audit]:
    """One queued Audit per host, each enqueued when the transaction commits. A host that has
    a queued or running audit keeps it: that one is returned, no second is made; so is its
    audit done less than AUDIT_MIN_INTERVAL_SECONDS ago. `countdown`: seconds before each
    host's audit may start (a schedule's spread)."""
    timeout = float(command_timeout or settings.AUDIT_COMMAND_TIMEOUT)
    return [_start(host, trigger, timeout, user, countdown) for host in hosts]


def _start(
    host: Host,
    trigger: str,
    timeout: float,
    user: object | None,
    countdown: Callable[[Host], int] | None = None,
) -> Audit:
    recent = fairness.recent_audit(host)
    if recent is not None:
        return recent
    try:
        with transaction.atomic():
            audit = Audit.objects.create(
                host=host, trigger=trigger, command_timeout=timeout, requested_by=user
            )
    except IntegrityError:
        active = Audit.objects.filter(host=host, status__in=ACTIVE).first()
        if active is None:
            raise
        if delivery.is_stale(active):
            # Its message was lost: asking again wakes it now rather than at the next reap.
            delivery.redrive(active.pk, active.enqueued_at)
        return active
    # Only the id travels: the worker reads everything else, credentials included, itself.
    if countdown is None:
        delivery.enqueue_on_commit(audit.pk)
    else:
        pk, delay = audit.pk, countdown(host)
        # Due later (a schedule's spread): the re-driver of lost messages counts from then.
        due = timezone.now() + timedelta(seconds=delay)
        Audit.objects.filter(pk=pk).update(enqueued_at=due)
        transaction.on_commit(lambda: delivery.enqueue(pk, countdown=delay))
    return audit


def audit_now(
    user: object,
    hosts: QuerySet[Host],
    *,
    trigger: str = Audit.Trigger.MANUAL,
    command_timeout: float | None = None,
) -> tuple[list[Audit], int]:
    """ "Audit now" by a person, from any page, admin action or API call: the one place that
    checks the operator role. Starts the hosts of groups where `user` is an operator or admin
    (superusers: all) and returns (their audits, how many hosts were refused)."""
    allowed = scope(hosts, user, "group", at_least=Role.OPERATOR)
    refused = hosts.count() - allowed.count()
    return start_audits(
        allowed, trigger=trigger, command_timeout=command_timeout, user=user
    ), refused


def start_schedule(schedule_id: int) -> list[Audit]:
    """The audits of one schedule when it comes due: its host, or every host of its group,
    once per period (schedules.fire). A disabled or deleted schedule, or a period that already
    ran, starts nothing."""
    from bulwark.audits.schedules import fire

    return fire(schedule_id) or []


def acknowledge_alerts(events: QuerySet[AlertEvent]) -> int:
    """Mark alerts as seen, compare-and-set: one already acknowledged keeps its first time.
    Returns how many this call acknowledged. Callers pass only alerts the user may operate."""
    return events.filter(acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())


# -- transitions --------------------------------------------------------------------------------


def claim(audit_id: int) -> Claim | None:
    """queued (or running with an expired lease) -> running with a fresh lease. None when
    another worker has it, it is finished, or it has used all its attempts."""
    now = timezone.now()
    claimable = Q(status=AuditStatus.QUEUED) | Q(status=AuditStatus.RUNNING, lease_expires__lt=now)
    with transaction.atomic():
        fairness.reserve_group_slot(audit_id, now)  # raises GroupFull: the task retries later
        won = Audit.objects.filter(claimable, pk=audit_id, attempts__lt=max_attempts()).update(
            status=AuditStatus.RUNNING,
            started_at=now,
            lease_expires=now + timedelta(seconds=settings.AUDIT_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    if won != 1:
        _give_up_if_exhausted(audit_id, now)
        return None
    row = Audit.objects.values("host_id", "attempts").get(pk=audit_id)
    return Claim(audit_id, row["host_id"], row["attempts"])


def _give_up_if_exhausted(audit_id: int, now: object) -> None:
    claimable = Q(status=AuditStatus.QUEUED) | Q(status=AuditStatus.RUNNING, lease_expires__lt=now)
    if Audit.objects.filter(claimable, pk=audit_id, attempts__gte=max_attempts()).update(
        status=AuditStatus.ERROR,
        finished_at=now,
        lease_expires=None,
        error_reason=f"gave up after {max_attempts()} attempts (worker lost or timed out)",
    ):
        # Like every failure: the host shows it, one alert per streak.
        alerts.audit_failed(audit_id)


def fail(claim: Claim, reason: str, *, alert: bool = True) -> bool:
    """running -> error with the reason; False when the claim was lost. The host shows the
    error; `alert` False when the caller raises its own alert (a changed host key)."""
    won = Audit.objects.filter(
        pk=claim.audit_id, status=AuditStatus.RUNNING, attempts=claim.attempt
    ).update(
        status=AuditStatus.ERROR,
        finished_at=timezone.now(),
        lease_expires=None,
        error_reason=reason,
    )
    if won == 1:
        alerts.audit_failed(claim.audit_id, alert=alert)
    return won == 1


def release_for_retry(claim: Claim, reason: str) -> float | None:
    """running -> queued after a transient error; the countdown before the retry, or None when
    the attempts are used up (the audit is then an error) or the claim was lost."""
    if claim.attempt >= max_attempts():
        fail(claim, f"gave up after {claim.attempt} attempts: {reason}")
        return None
    countdown = delivery.backoff(claim.attempt)
    # enqueued_at is when the retry is due: the reaper re-drives it only if that message is
    # lost, AUDIT_REQUEUE_AFTER after it should have run.
    due = timezone.now() + timedelta(seconds=countdown)
    won = Audit.objects.filter(
        pk=claim.audit_id, status=AuditStatus.RUNNING, attempts=claim.attempt
    ).update(status=AuditStatus.QUEUED, lease_expires=None, error_reason=reason, enqueued_at=due)
    return countdown if won == 1 else None


def reap_expired_leases() -> list[int]:
    """Running audits whose lease expired (their worker died): back to queued and enqueued
    again, or error once their attempts are used up. Returns the re-queued ids."""
    now = timezone.now()
    requeued = []
    expired = Audit.objects.filter(status=AuditStatus.RUNNING, lease_expires__lt=now)
    for audit_id, attempts in expired.values_list("pk", "attempts"):
        fenced = Audit.objects.filter(
            pk=audit_id, status=AuditStatus.RUNNING, attempts=attempts, lease_expires__lt=now
        )
        if attempts >= max_attempts():
            reason = f"gave up after {attempts} attempts: the worker stopped answering"
            if fenced.update(
                status=AuditStatus.ERROR, finished_at=now, lease_expires=None, error_reason=reason
            ):
                alerts.audit_failed(audit_id)  # like every failure: once per streak
            continue
        with transaction.atomic():
            if fenced.update(status=AuditStatus.QUEUED, lease_expires=None, enqueued_at=now):
                delivery.enqueue_on_commit(audit_id)
                requeued.append(audit_id)
    if requeued:
        log.warning("re-queued %d audit(s) whose lease expired: %s", len(requeued), requeued)
    return requeued


# -- run ----------------------------------------------------------------------------------------


def run_audit(audit_id: int) -> float | None:
    """Claim, connect, audit, store. Returns a countdown when the task should retry. Every
    path ends the attempt (done, error with a reason, or queued for its retry); only a
    database that refuses even that leaves it to the lease and the reaper."""
    won = claim(audit_id)
    if won is None:
        log.info("audit %s: nothing to claim (duplicate delivery or already finished)", audit_id)
        return None
    try:
        return _run_claimed(won)
    except DatabaseError as exc:
        return _database_failed(won, exc)


def _run_claimed(won: Claim) -> float | None:
    audit_id = won.audit_id
    host = Host.objects.select_related(
        "group", "credential", "credential__jump_host", "credential__jump_host__credential"
    ).get(pk=won.host_id)
    timeout = Audit.objects.values_list("command_timeout", flat=True).get(pk=audit_id)
    secrets: list[str] = []
    try:
        policies = enabled_definitions()
        if not policies:
            fail(won, reasons.NO_POLICIES)
            return None
        selection = selection_for(host)
        if not selection:
            fail(won, reasons.NOT_ASSIGNED)
            return None
        connection = open_connection(host)
        secrets = connection.secrets
        with (
            connection.transport as transport,
            Budget(transport, settings.AUDIT_MAX_SECONDS, f"audit {audit_id} of {host.name}"),
        ):
            outcome = audit_runtime.run(
                transport, policies, command_timeout=timeout, selection=selection
            )
        keys = transport.seen_host_keys()
        seen = SeenKeys(keys.host, keys.jump)
    except HostKeyChanged as exc:
        _host_key_changed(won, host, redact(str(exc), secrets), exc.seen)
        return None
    except TransportError as exc:
        # The details (what the far end said) go to the log only; users get the vocabulary.
        detail, reason = redact(str(exc), secrets), public_reason(exc)
        if exc.permanent:
            log.warning("audit %s of %s failed: %s", audit_id, host.name, detail)
            fail(won, reason)
            return None
        log.info("audit %s of %s: transient error, will retry: %s", audit_id, host.name, detail)
        return release_for_retry(won, reason)
    except (audit_runtime.AuditError, PolicyRefused, SecretUnreadable, BudgetExceeded) as exc:
        reason = redact(str(exc), secrets)
        log.warning("audit %s of %s failed: %s", audit_id, host.name, reason)
        fail(won, reason)
        return None
    except DatabaseError:
        raise  # run_audit's handler knows a lost connection from refused data
    except Exception as exc:
        # The orchestration boundary: record it, never let the task die with the lease held.
        log.exception("audit %s of %s: internal error", audit_id, host.name)
        fail(won, f"internal error ({type(exc).__name__}); see the worker log")
        return None
    if store_outcome(won, outcome, seen):
        log.info(
            "audit %s of %s done: score %s (%d passed, %d failed, %d not applicable)",
            audit_id,
            host.name,
            outcome.summary.score,
            outcome.summary.passed,
            outcome.summary.failed,
            outcome.summary.not_applicable,
        )
    return None


def _database_failed(won: Claim, exc: DatabaseError) -> float | None:
    """The database failed us mid-attempt: a lost connection (restart, terminated backend) is
    transient and retried; refused data or a violated constraint ends the audit as an error."""
    transient = isinstance(exc, OperationalError | InterfaceError)
    detail = (str(exc).strip().splitlines() or [""])[0][:300]
    reason = f"could not record the audit: database {type(exc).__name__}: {detail}"
    log.error("audit %s: %s", won.audit_id, reason, exc_info=exc)
    try:
        if transient:
            db_connection.close()  # the next query opens a fresh one
            return release_for_retry(won, reason)
        fail(won, reason)
    except DatabaseError:
        log.exception(
            "audit %s: could not record that either; its lease (AUDIT_LEASE_SECONDS) will "
            "expire and the reaper re-queues it",
            won.audit_id,
        )
    return None


def _host_key_changed(won: Claim, host: Host, reason: str, seen: str) -> None:
    log.error("audit %s of %s refused: %s", won.audit_id, host.name, reason)
    with transaction.atomic():
        if fail(won, reason, alert=False):
            audit = Audit.objects.get(pk=won.audit_id)
            alerts.host_key_changed(host, audit, reason, seen)
