"""Handing audits to workers: the database is the truth, the broker only a wake-up call.

Every audit is committed as `queued` first, then its id is published (after the commit). A
message can still be lost (broker restarted empty, publish failed, a worker acked and died), so
the reaper re-drives from the table any audit queued longer than AUDIT_REQUEUE_AFTER; the claim
is a compare-and-set, so a duplicate message is harmless. docs/delivery.md has the guarantees.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bulwark.audits.models import Audit, AuditStatus

log = logging.getLogger(__name__)
_random = secrets.SystemRandom()


def backoff(attempt: int) -> float:
    """Seconds before retry number `attempt`: AUDIT_RETRY_BACKOFF doubling (30, 60, 120...),
    jittered by +-20 % so hosts that failed together do not retry together, and capped at
    AUDIT_RETRY_BACKOFF_MAX."""
    base = float(settings.AUDIT_RETRY_BACKOFF) * 2 ** max(attempt - 1, 0)
    return min(base * _random.uniform(0.8, 1.2), float(settings.AUDIT_RETRY_BACKOFF_MAX))


def enqueue_on_commit(audit_id: int) -> None:
    """Publish the audit once the current transaction commits (never a message for a row that
    a rollback removed)."""
    transaction.on_commit(lambda: enqueue(audit_id))


def enqueue(audit_id: int, countdown: float | None = None) -> None:
    """Wake a worker for this audit, now or after `countdown` seconds. Never raises: when the
    broker cannot take the message, the audit stays queued and the reaper re-drives it."""
    from bulwark.audits.tasks import audit_host

    if settings.CELERY_TASK_ALWAYS_EAGER and countdown:
        _retry_in_process(audit_id, countdown)
        return
    try:  # eager (the embedded default), this runs the audit here and now
        audit_host.apply_async((audit_id,), {}, countdown=countdown)
    except Exception as exc:  # the boundary with the broker: logged, and the table has it
        log.warning(
            "audit %s: could not publish it (%s: %s); it stays queued and is re-driven within "
            "AUDIT_REQUEUE_AFTER (%g s)",
            audit_id,
            type(exc).__name__,
            exc,
            settings.AUDIT_REQUEUE_AFTER,
        )


def _retry_in_process(audit_id: int, countdown: float) -> None:
    """The embedded default (no broker): the retry runs after its backoff in a timer thread,
    so it waits for what its log line says. Should the process exit first, the audit stays
    queued and is re-driven (by the reaper, or the next "audit now" of its host)."""
    from bulwark.audits.tasks import audit_host

    def later() -> None:
        try:
            audit_host.apply(args=(audit_id,))
        finally:
            connection.close()  # this thread's own connection

    timer = threading.Timer(countdown, later)
    timer.daemon = True
    timer.name = f"audit-{audit_id}-retry"
    timer.start()


def redrive_queued() -> list[int]:
    """Publish again every audit queued longer than AUDIT_REQUEUE_AFTER without being claimed
    (its message was lost). Each is stamped first (compare-and-set on enqueued_at), so two
    reapers at once re-drive it once. Returns the ids."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.AUDIT_REQUEUE_AFTER)
    stale = Audit.objects.filter(status=AuditStatus.QUEUED, enqueued_at__lt=cutoff)
    redriven = [
        audit_id
        for audit_id, enqueued_at in stale.values_list("pk", "enqueued_at")
        if redrive(audit_id, enqueued_at)
    ]
    if redriven:
        log.warning(
            "re-drove %d queued audit(s) nobody claimed within AUDIT_REQUEUE_AFTER: %s",
            len(redriven),
            redriven,
        )
    return redriven


def redrive(audit_id: int, enqueued_at: object) -> bool:
    """Publish this queued audit again if it is still queued and stamped `enqueued_at` (the
    compare-and-set that makes concurrent re-drives publish once)."""
    with transaction.atomic():
        won = Audit.objects.filter(
            pk=audit_id, status=AuditStatus.QUEUED, enqueued_at=enqueued_at
        ).update(enqueued_at=timezone.now())
        if won:
            enqueue_on_commit(audit_id)
    return bool(won)


def is_stale(audit: Audit) -> bool:
    """Queued longer than AUDIT_REQUEUE_AFTER without a claim: its message is presumed lost."""
    cutoff = timezone.now() - timedelta(seconds=settings.AUDIT_REQUEUE_AFTER)
    return audit.status == AuditStatus.QUEUED and audit.enqueued_at < cutoff
