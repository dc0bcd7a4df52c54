"""Celery tasks: thin, named, ids as arguments; the work is in services.py."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError, connection

from bulwark.audits import delivery, fairness, services

log = logging.getLogger(__name__)
DATABASE_RETRY = 5.0  # seconds before an audit that met a lost database connection is tried again


# acks_late: the first statement is a claim, so a redelivered message is harmless, and a worker
# killed mid-audit leaves the message to be redelivered (or the lease to be reaped). Retries are
# new messages published by delivery.enqueue (attempts are counted in the Audit row), so a
# broker that loses one costs AUDIT_REQUEUE_AFTER, never the audit.
@shared_task(
    name="audits.audit_host",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def audit_host(audit_id: int) -> None:
    """Run one queued audit."""
    try:
        countdown = services.run_audit(audit_id)
    except (OperationalError, InterfaceError) as exc:
        # The database went away before the claim (restart, terminated backend): try again
        # shortly on a fresh connection; the claim decides whether there is anything to do.
        connection.close()
        log.warning("audit %s: database unavailable (%s); retrying in %g s", audit_id,
                    type(exc).__name__, DATABASE_RETRY)  # fmt: skip
        delivery.enqueue(audit_id, countdown=DATABASE_RETRY)
        return
    except fairness.GroupFull as full:  # its group runs max_parallel audits: back of the queue
        log.info("audit %s: its group is at max_parallel; retry in %.1f s", audit_id, full.retry_in)
        delivery.enqueue(audit_id, countdown=full.retry_in)
        return
    if countdown is not None:
        log.info("audit %s: retry in %.1f s", audit_id, countdown)
        delivery.enqueue(audit_id, countdown=countdown)


@shared_task(name="audits.reap_expired_leases", ignore_result=True)
def reap_expired_leases() -> int:
    """Re-queue audits whose worker died (their lease expired) and re-drive queued audits
    whose message was lost (AUDIT_REQUEUE_AFTER)."""
    return len(services.reap_expired_leases()) + len(delivery.redrive_queued())


@shared_task(name="audits.expire_exceptions", ignore_result=True)
def expire_exceptions() -> int:
    """Expire exceptions past their last day and warn of those ending within 14 days."""
    from bulwark.audits import risk_services

    risk_services.warn_expiring()
    return len(risk_services.expire_due())


@shared_task(name="audits.run_schedule", ignore_result=True)
def run_schedule(schedule_id: int) -> int:
    """Start the audits of one schedule (fired by celery beat), once per period."""
    return len(services.start_schedule(schedule_id))


@shared_task(name="audits.post_alert", ignore_result=True)
def post_alert(alert_id: int) -> None:
    """Send one alert to the configured webhooks (best effort: failures are logged)."""
    from bulwark.audits.alerts import post_webhooks
    from bulwark.audits.models import AlertEvent

    alert = AlertEvent.objects.select_related("host").filter(pk=alert_id).first()
    if alert is not None:
        post_webhooks(alert)


@shared_task(name="audits.purge_results", ignore_result=True)
def purge_results() -> int:
    """Delete per-check results older than RESULTS_RETENTION_DAYS (beat, every six hours)."""
    from bulwark.audits.retention import purge_results as purge

    return purge().results


@shared_task(name="audits.compact_results", ignore_result=True)
def compact_results() -> bool:
    """Rebuild the results' indexes, which reductions leave sparse (beat, weekly)."""
    from bulwark.audits import history

    return history.compact()
