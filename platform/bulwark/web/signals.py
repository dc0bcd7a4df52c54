"""Widgets follow their owner's access: leaving a group drops it from the user's widgets, so a
dashboard never keeps naming (or showing) a group the user no longer belongs to."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from bulwark.inventory.models import Membership
from bulwark.web.models import Widget


@receiver(post_delete, sender=Membership)
def drop_stale_widget_groups(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    Widget.objects.filter(user_id=instance.user_id, group_id=instance.group_id).update(group=None)
