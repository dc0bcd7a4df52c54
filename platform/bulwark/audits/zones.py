"""Worker zones: each zone is a Celery queue, and audits are routed to their host's zone.

The default zone's queue is Celery's default one ("celery"), so a worker started without -Q
audits the default zone as before; any other zone NAME is the queue "zone.NAME", consumed by
workers started with `manage.py worker --zone NAME` (or `celery ... worker -Q zone.NAME`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Value
from django.db.models.functions import Coalesce, NullIf

from bulwark.audits.models import ACTIVE, Audit, AuditStatus, WorkerHeartbeat
from bulwark.inventory.access import is_unrestricted, scope
from bulwark.inventory.models import DEFAULT_ZONE, Host

DEFAULT_QUEUE = "celery"
QUEUE_PREFIX = "zone."
AUDIT_TASK = "audits.audit_host"

# Redis consumes priority 0 first (kombu's default steps are 0, 3, 6, 9): someone waiting on an
# "audit now" goes ahead of the thousands a schedule enqueued.
PRIORITY_MANUAL = 0
PRIORITY_SCHEDULED = 6


def queue_for(zone: str) -> str:
    return DEFAULT_QUEUE if zone in ("", DEFAULT_ZONE) else QUEUE_PREFIX + zone


def zone_of_queue(queue: str) -> str | None:
    """The zone a queue serves, or None for a queue that is not a zone's."""
    if queue == DEFAULT_QUEUE:
        return DEFAULT_ZONE
    if queue.startswith(QUEUE_PREFIX):
        return queue[len(QUEUE_PREFIX) :]
    return None


def route_audit(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **extra: Any
) -> dict[str, Any] | None:
    """Celery router (CELERY_TASK_ROUTES): an audit goes to its host's zone queue, with its
    trigger's priority. Routing here, at every publish, covers the first enqueue, the reaper's
    re-enqueue and any other path that sends the task by id."""
    if name != AUDIT_TASK:
        return None
    audit_id = (list(args or []) or [kwargs.get("audit_id")])[0]
    row = (
        Audit.objects.filter(pk=audit_id)
        .values("trigger", "host__zone", "host__group__zone")
        .first()
    )
    if row is None:
        return None  # the claim will find nothing either; the default queue will do
    zone = row["host__zone"] or row["host__group__zone"]
    scheduled = row["trigger"] == Audit.Trigger.SCHEDULE
    return {
        "queue": queue_for(zone),
        "priority": PRIORITY_SCHEDULED if scheduled else PRIORITY_MANUAL,
    }


# -- the zone view ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerState:
    """One worker as its heartbeat row tells it."""

    hostname: str
    alive: bool
    concurrency: int
    running: int
    last_seen: datetime
    stopped: bool


@dataclass
class ZoneState:
    """A zone: the user's hosts in it, its queued and running audits, the workers serving it."""

    name: str
    queue: str
    hosts: int = 0
    queued: int = 0
    running: int = 0
    workers: list[WorkerState] = field(default_factory=list)

    @property
    def live_workers(self) -> int:
        return sum(1 for worker in self.workers if worker.alive)

    @property
    def warning(self) -> str:
        if self.hosts and not self.live_workers:
            return (
                f"{self.hosts} host(s) in zone {self.name} but no live worker: start one with "
                f"`manage.py worker --zone {self.name}`"
            )
        return ""


def fleet_zones(user: Any) -> list[ZoneState]:
    """Every zone the user has hosts in (superusers: also zones that only have workers)."""
    from bulwark.audits.heartbeats import alive_after

    hosts = scope(Host.objects.all(), user, "group").annotate(zone_name=host_zone())
    zones: dict[str, ZoneState] = {}

    def zone(name: str) -> ZoneState:
        return zones.setdefault(name, ZoneState(name, queue_for(name)))

    for row in hosts.values("zone_name").annotate(n=Count("pk")):
        zone(row["zone_name"]).hosts = row["n"]
    audits = scope(Audit.objects.filter(status__in=ACTIVE), user, "host__group")
    for row in audits.values("status", zone_name=host_zone("host__")).annotate(n=Count("pk")):
        state = zone(row["zone_name"])
        if row["status"] == AuditStatus.QUEUED:
            state.queued = row["n"]
        else:
            state.running = row["n"]
    limit = alive_after()
    everything = is_unrestricted(user)
    for beat in WorkerHeartbeat.objects.all():
        worker = WorkerState(
            hostname=beat.hostname,
            alive=beat.stopped_at is None and beat.last_seen >= limit,
            concurrency=beat.concurrency,
            running=beat.running,
            last_seen=beat.last_seen,
            stopped=beat.stopped_at is not None,
        )
        for name in beat.zones:
            if name in zones or everything:
                zone(name).workers.append(worker)
    return sorted(zones.values(), key=lambda z: (z.name != DEFAULT_ZONE, z.name))


def host_zone(prefix: str = "") -> Any:
    """SQL for a host's zone: its own, else its group's (`prefix` reaches the host)."""
    return Coalesce(NullIf(F(f"{prefix}zone"), Value("")), F(f"{prefix}group__zone"))
