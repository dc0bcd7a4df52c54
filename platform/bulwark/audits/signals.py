"""Signal receivers: a deleted schedule takes its beat task along (also on queryset deletes);
a deleted audit leaves the history of its host whole."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from bulwark.audits import history, store
from bulwark.audits.models import Audit, Schedule
from bulwark.audits.schedules import delete_periodic_task
from bulwark.inventory.models import Host


@receiver(post_delete, sender=Schedule)
def _schedule_deleted(sender: type[Schedule], instance: Schedule, **kwargs: Any) -> None:
    delete_periodic_task(instance)


def _host_goes(origin: Any) -> bool:
    """The deletion started at a host: it takes all of its audits, nothing stays to keep."""
    return isinstance(origin, Host) or (
        isinstance(origin, QuerySet) and issubclass(origin.model, Host)
    )


@receiver(pre_delete, sender=Audit)
def _audit_deleted(sender: type[Audit], instance: Audit, origin: Any = None, **kwargs: Any) -> None:
    # Before the cascade takes its results (docs/history.md).
    if not _host_goes(origin):
        history.before_delete(instance.pk)


@receiver(post_delete, sender=Audit)
def _latest_deleted(
    sender: type[Audit], instance: Audit, origin: Any = None, **kwargs: Any
) -> None:
    if instance.latest and not _host_goes(origin):
        store.promote_previous(instance.host_id)
