"""Celery tasks: thin, named, ids as arguments; the work is in services.py."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from bulwark.audits import fairness, services

log = logging.getLogger(__name__)


# acks_late: the first statement is a claim, so a redelivered message is harmless, and a worker
# killed mid-audit leaves the message to be redelivered (or the lease to be reaped).
@shared_task(
    name="audits.audit_host",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the attempts are counted and bounded in the Audit row
    ignore_result=True,
)
def audit_host(self: Task, audit_id: int) -> None:
    """Run one queued audit."""
    try:
        countdown = services.run_audit(audit_id)
    except fairness.GroupFull as full:  # its group runs max_parallel audits: back of the queue
        raise self.retry(countdown=full.retry_in) from None
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task(name="audits.reap_expired_leases", ignore_result=True)
def reap_expired_leases() -> int:
    """Re-queue audits whose worker died (their lease expired)."""
    return len(services.reap_expired_leases())


@shared_task(name="audits.run_schedule", ignore_result=True)
def run_schedule(schedule_id: int) -> int:
    """Start the audits of one schedule (fired by celery beat)."""
    from bulwark.audits.models import Schedule
    from bulwark.inventory.models import Host

    schedule = Schedule.objects.filter(pk=schedule_id, enabled=True).first()
    if schedule is None:
        return 0
    if schedule.host_id is not None:
        hosts = Host.objects.filter(pk=schedule.host_id)
    else:
        hosts = Host.objects.filter(group_id=schedule.group_id)
    audits = services.start_audits(
        hosts,
        trigger="schedule",
        command_timeout=schedule.command_timeout,
        countdown=fairness.spreader(schedule.pk, schedule.spread_minutes),
    )
    return len(audits)


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
