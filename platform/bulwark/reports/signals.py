"""Signal receivers keeping the aggregates in step: a stored audit, a host moving group, an
audit being deleted."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from bulwark.audits.models import Audit
from bulwark.audits.rescoping_scope import Removed, audits_rescoped
from bulwark.audits.rescoring import AuditChange, audits_rescored
from bulwark.audits.store import audit_stored
from bulwark.inventory.models import Host
from bulwark.reports import aggregates, rescored


@receiver(audit_stored)
def _audit_stored(sender: Any, audit: Audit, **kwargs: Any) -> None:
    aggregates.record_audit(audit)


@receiver(audits_rescored)
def _audits_rescored(sender: Any, changes: list[AuditChange], **kwargs: Any) -> None:
    rescored.apply_changes(changes)


@receiver(audits_rescoped)
def _audits_rescoped(sender: Any, removed: list[Removed], **kwargs: Any) -> None:
    rescored.apply_removals(removed)


@receiver(post_save, sender=Host)
def _host_saved(sender: type[Host], instance: Host, created: bool, **kwargs: Any) -> None:
    if not created:
        aggregates.move_host(instance.pk, instance.group_id)


@receiver(pre_delete, sender=Audit)
def _audit_deleted(sender: type[Audit], instance: Audit, **kwargs: Any) -> None:
    # Before the cascade removes its results: they say what to take out of the counters.
    from bulwark.reports.models import CountedAudit

    if CountedAudit.objects.filter(audit_id=instance.pk).exists():
        aggregates.uncount(instance.host_id)
