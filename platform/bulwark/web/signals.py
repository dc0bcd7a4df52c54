"""Widgets follow their owner's access: leaving a group drops it from the user's widgets, so a
dashboard never keeps naming (or showing) a group the user no longer belongs to. Alerts are
e-mailed when ALERT_EMAILS is on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete
from django.dispatch import receiver

from bulwark.audits.alerts import alert_raised
from bulwark.inventory.models import Membership
from bulwark.web.models import Widget


@receiver(post_delete, sender=Membership)
def drop_stale_widget_groups(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    Widget.objects.filter(user_id=instance.user_id, group_id=instance.group_id).update(group=None)


@receiver(alert_raised)
def mail_the_alert(sender: Any, alert_id: int, **kwargs: Any) -> None:
    """ALERT_EMAILS on: the alert is e-mailed by a task, so a slow mail server holds nothing."""
    if settings.ALERT_EMAILS:
        from bulwark.web.tasks import mail_alert

        mail_alert.delay(alert_id)
