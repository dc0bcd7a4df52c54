"""Fair and gentle scheduling: a schedule spreads its hosts over a window, a group runs at most
`max_parallel` audits at once, and a host audited a moment ago is not audited again.

services.py calls these at the two points that decide: starting an audit (`recent_audit`) and
claiming it (`reserve_group_slot`, inside the claim's transaction).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bulwark.audits.models import Audit, AuditStatus
from bulwark.inventory.models import Group, Host

# A full group's audit waits this long (± half, so waiting audits do not come back together).
GROUP_FULL_RETRY_SECONDS = 10.0


class GroupFull(Exception):
    """The audit's group already runs `max_parallel` audits: try again in `retry_in` seconds."""

    def __init__(self, group_id: int, limit: int) -> None:
        super().__init__(f"group {group_id} already runs {limit} audit(s) (max_parallel)")
        self.retry_in = GROUP_FULL_RETRY_SECONDS * random.uniform(0.5, 1.5)  # noqa: S311


def spread_offset(schedule_id: int, host_id: int, spread_minutes: int) -> int:
    """Seconds after the schedule fires at which this host's audit starts: the same every
    period for the same host (a hash, not a random draw), spread evenly over the window."""
    if spread_minutes <= 0:
        return 0
    digest = hashlib.sha256(f"{schedule_id}:{host_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (spread_minutes * 60)


def spreader(schedule_id: int, spread_minutes: int) -> Callable[[Host], int]:
    return lambda host: spread_offset(schedule_id, host.pk, spread_minutes)


def max_spread_minutes() -> int:
    """The broker redelivers a message not acknowledged within its visibility timeout, and a
    worker holds a delayed message unacknowledged until it is due: a spread must stay under it."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return max(0, int(options.get("visibility_timeout", 3600)) // 60 - 1)


def recent_audit(host: Host, now: datetime | None = None) -> Audit | None:
    """The host's audit that finished well less than AUDIT_MIN_INTERVAL_SECONDS ago, if any: a
    new one would tell nothing new. Only a done audit counts: after an error, retrying is the
    point."""
    interval = float(settings.AUDIT_MIN_INTERVAL_SECONDS)
    if interval <= 0:
        return None
    since = (now or timezone.now()) - timedelta(seconds=interval)
    return (
        Audit.objects.filter(host=host, status=AuditStatus.DONE, finished_at__gte=since)
        .order_by("-finished_at")
        .first()
    )


def reserve_group_slot(audit_id: int, now: datetime) -> None:
    """Raise GroupFull when the audit's group already runs its `max_parallel` audits. Call it
    inside the claim's transaction: it locks the group row, so claims of one group are decided
    one after the other and the count cannot be overtaken between the check and the claim."""
    row = (
        Audit.objects.filter(pk=audit_id)
        .values("host__group_id", "host__group__max_parallel")
        .first()
    )
    if row is None or row["host__group__max_parallel"] is None:
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # in-process tasks: a retry would run at once, in a loop; nothing runs in parallel
    assert transaction.get_connection().in_atomic_block, "call inside the claim's transaction"
    group_id, limit = row["host__group_id"], row["host__group__max_parallel"]
    list(Group.objects.select_for_update().filter(pk=group_id).values_list("pk"))
    running = Audit.objects.filter(
        host__group_id=group_id, status=AuditStatus.RUNNING, lease_expires__gt=now
    ).count()
    if running >= limit:
        raise GroupFull(group_id, limit)
