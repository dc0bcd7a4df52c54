"""Keep each Schedule's django-celery-beat PeriodicTask in step with it, fire a schedule once
per period however many times beat sends it, and tell when it fires next."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

if TYPE_CHECKING:
    from bulwark.audits.models import Audit, Schedule

log = logging.getLogger(__name__)
TASK = "audits.run_schedule"


def interval_of(schedule: Schedule) -> timedelta:
    """How often the schedule fires: its beat task's interval (what beat really uses)."""
    task = schedule.periodic_task
    if task is not None and task.interval is not None:
        return timedelta(seconds=task.interval.schedule.run_every.total_seconds())
    return timedelta(days=schedule.interval_days)


def fire(schedule_id: int) -> list[Audit] | None:
    """Start the audits of this schedule's next period; None when this period already ran.

    Beat may send a schedule twice: two beats started by mistake, or a beat killed after
    sending but before saving last_run_at, which sends it again on restart. A firing less than
    half an interval after the previous one belongs to the same period and is skipped; two
    firings racing for the next period both try to insert (schedule, period) and the unique
    constraint lets one win. A schedule missed while everything was down is sent once by beat
    when it comes back, and runs once.
    """
    from bulwark.audits import fairness
    from bulwark.audits.models import Schedule, ScheduleRun
    from bulwark.audits.services import start_audits
    from bulwark.inventory.models import Host

    schedule = (
        Schedule.objects.select_related("periodic_task__interval")
        .filter(pk=schedule_id, enabled=True)
        .first()
    )
    if schedule is None:
        return None
    last = ScheduleRun.objects.filter(schedule=schedule).order_by("-period").first()
    if last is not None and timezone.now() - last.created_at < interval_of(schedule) / 2:
        log.info("schedule %s: period %s already ran at %s; this firing is a duplicate",
                 schedule_id, last.period, last.created_at)  # fmt: skip
        return None
    if schedule.host_id is not None:
        hosts = Host.objects.filter(pk=schedule.host_id)
    else:
        hosts = Host.objects.filter(group_id=schedule.group_id)
    period = last.period + 1 if last is not None else 1
    try:
        with transaction.atomic():
            run = ScheduleRun.objects.create(schedule=schedule, period=period)
            audits = start_audits(
                hosts,
                trigger="schedule",
                command_timeout=schedule.command_timeout,
                countdown=fairness.spreader(schedule.pk, schedule.spread_minutes),
            )
            ScheduleRun.objects.filter(pk=run.pk).update(audits=len(audits))
    except IntegrityError:
        log.info("schedule %s: period %s was started by another firing", schedule_id, period)
        return None
    log.info("schedule %s: period %s started %d audit(s)", schedule_id, period, len(audits))
    return audits


def sync_periodic_task(schedule: Schedule) -> PeriodicTask:
    """Create or update the beat task that starts this schedule's audits."""
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=schedule.interval_days, period=IntervalSchedule.DAYS
    )
    fields = {
        "name": f"bulwark schedule {schedule.pk}",
        "task": TASK,
        "interval": interval,
        "kwargs": json.dumps({"schedule_id": schedule.pk}),
        "enabled": schedule.enabled,
        "description": str(schedule),
    }
    task = schedule.periodic_task
    if task is None:
        task = PeriodicTask.objects.create(**fields)
        type(schedule).objects.filter(pk=schedule.pk).update(periodic_task=task)
        schedule.periodic_task = task
    else:
        changed = [name for name, value in fields.items() if getattr(task, name) != value]
        if changed:
            for name in changed:
                setattr(task, name, fields[name])
            task.save()
    return task


def delete_periodic_task(schedule: Schedule) -> None:
    if schedule.periodic_task_id is not None:
        PeriodicTask.objects.filter(pk=schedule.periodic_task_id).delete()


def next_run(schedule: Schedule) -> datetime | None:
    """When the schedule fires next (beat's view: last run, or its creation, plus the interval);
    None when it is disabled."""
    task = schedule.periodic_task
    if task is None or not task.enabled or task.interval is None:
        return None
    since = task.last_run_at or task.date_changed
    return since + task.interval.schedule.run_every
