"""Signal receivers: a deleted schedule takes its beat task along (also on queryset deletes)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from bulwark.audits.models import Schedule
from bulwark.audits.schedules import delete_periodic_task


@receiver(post_delete, sender=Schedule)
def _schedule_deleted(sender: type[Schedule], instance: Schedule, **kwargs: Any) -> None:
    delete_periodic_task(instance)
