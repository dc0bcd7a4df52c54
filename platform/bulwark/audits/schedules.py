"""Keep each Schedule's django-celery-beat PeriodicTask in step with it; when it fires next."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from django_celery_beat.models import IntervalSchedule, PeriodicTask

if TYPE_CHECKING:
    from bulwark.audits.models import Schedule

TASK = "audits.run_schedule"


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
