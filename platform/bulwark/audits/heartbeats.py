"""Workers report themselves: a thread in every Celery worker writes its WorkerHeartbeat row
every WORKER_HEARTBEAT_SECONDS (zones served, concurrency, audits running); shutdown marks it
stopped. The zone view reads these rows.

Rows rather than Celery's inspect broadcast: a web request must not wait for replies, and a
worker that died must still show when it was last seen.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta
from typing import Any

from celery.signals import worker_ready, worker_shutting_down
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from bulwark.audits.models import WorkerHeartbeat
from bulwark.audits.zones import AUDIT_TASK, zone_of_queue

log = logging.getLogger(__name__)

_stop = threading.Event()
_worker: dict[str, Any] = {}


def alive_after() -> datetime:
    """Heartbeats older than this mean the worker is gone (three missed beats)."""
    return timezone.now() - timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS)


def _running_audits() -> int:
    from celery.worker import state

    return sum(1 for request in list(state.active_requests) if request.name == AUDIT_TASK)


def beat(*, first: bool = False) -> None:
    """Write this worker's row now."""
    now = timezone.now()
    values = {
        "zones": _worker["zones"],
        "concurrency": _worker["concurrency"],
        "running": _running_audits(),
        "pid": os.getpid(),
        "last_seen": now,
        "stopped_at": None,
    }
    if first:
        values["started_at"] = now
    WorkerHeartbeat.objects.update_or_create(
        hostname=_worker["hostname"], defaults=values, create_defaults={**values, "started_at": now}
    )


def _loop() -> None:
    while not _stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
        try:
            close_old_connections()
            beat()
        except Exception:
            # The heartbeat must never take the worker down; a missed beat shows as "last seen".
            log.exception("worker heartbeat failed")


@worker_ready.connect
def _started(sender: Any, **kwargs: Any) -> None:
    queues = sorted(sender.app.amqp.queues.consume_from)
    _worker.update(
        hostname=sender.hostname,
        zones=sorted({z for z in map(zone_of_queue, queues) if z is not None}),
        concurrency=int(sender.controller.concurrency or 0),
    )
    beat(first=True)
    _stop.clear()
    threading.Thread(target=_loop, name="bulwark-heartbeat", daemon=True).start()
    log.info("worker %s serves zones %s", sender.hostname, ", ".join(_worker["zones"]) or "none")


@worker_shutting_down.connect
def _stopping(**kwargs: Any) -> None:
    _stop.set()
    if _worker:
        close_old_connections()
        WorkerHeartbeat.objects.filter(hostname=_worker["hostname"]).update(
            stopped_at=timezone.now(), running=0
        )
