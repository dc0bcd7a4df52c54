"""Prometheus metrics of the fleet's machinery, beside the hardening ones (metrics.py): per zone
its hosts, queued and running audits, broker messages and live workers; audits per status; the
distribution of audit durations. All read at scrape time, scoped to the scraping user's groups
like every other series."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from bulwark.audits.models import Audit, AuditStatus
from bulwark.audits.zones import fleet_zones
from bulwark.inventory.access import scope

log = logging.getLogger(__name__)

# Seconds: audits of a few checks take about one, the whole catalogue over a slow link minutes.
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def broker_depths(queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue on the broker (retries and spread audits included); empty
    without a broker (the embedded mode runs tasks in-process) or when it does not answer."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not queues:
        return {}
    from bulwark.celery_app import app

    depths: dict[str, int] = {}
    connection = app.connection_for_read()
    try:
        connection.ensure_connection(max_retries=1, timeout=2)
        channel = connection.default_channel
        for queue in queues:
            try:
                depths[queue] = int(channel.queue_declare(queue, passive=True).message_count)
            except connection.channel_errors:
                depths[queue] = 0  # never declared: nothing was ever sent there
                channel = connection.channel()
    except connection.connection_errors as exc:  # a scrape must answer even then
        log.warning("metrics: the broker did not answer: %s", exc)
        return {}
    finally:
        connection.release()
    return depths


class FleetCollector:
    """Builds the fleet's metric families for one user at scrape time."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def collect(self) -> Iterator[Metric]:
        yield from self.zones()
        yield from self.audits()

    def zones(self) -> Iterator[Metric]:
        families = {
            "hosts": GaugeMetricFamily("bulwark_zone_hosts", "Hosts in the zone.", labels=["zone"]),
            "queued": GaugeMetricFamily(
                "bulwark_zone_audits_queued",
                "Audits of the zone's hosts waiting for a worker (the zone's queue depth).",
                labels=["zone"],
            ),
            "running": GaugeMetricFamily(
                "bulwark_zone_audits_running",
                "Audits of the zone's hosts running now.",
                labels=["zone"],
            ),
            "workers": GaugeMetricFamily(
                "bulwark_zone_workers",
                "Live workers serving the zone (heartbeat less than three intervals old).",
                labels=["zone"],
            ),
        }
        messages = GaugeMetricFamily(
            "bulwark_zone_queue_messages",
            "Messages waiting in the zone's Celery queue on the broker (delayed ones included).",
            labels=["zone", "queue"],
        )
        zones = fleet_zones(self.user)
        depths = broker_depths([zone.queue for zone in zones])
        for zone in zones:
            families["hosts"].add_metric([zone.name], zone.hosts)
            families["queued"].add_metric([zone.name], zone.queued)
            families["running"].add_metric([zone.name], zone.running)
            families["workers"].add_metric([zone.name], zone.live_workers)
            if zone.queue in depths:
                messages.add_metric([zone.name, zone.queue], depths[zone.queue])
        yield from families.values()
        yield messages

    def audits(self) -> Iterator[Metric]:
        audits = scope(Audit.objects.all(), self.user, "host__group")
        by_status = GaugeMetricFamily(
            "bulwark_audits", "Audits by status (all kept audits).", labels=["status"]
        )
        counts = dict(audits.values_list("status").annotate(n=Count("pk")).order_by())
        for status in AuditStatus.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

        done = audits.filter(status=AuditStatus.DONE, seconds__isnull=False)
        buckets = {f"le_{i}": Count("pk", filter=Q(seconds__lte=b))
                   for i, b in enumerate(DURATION_BUCKETS)}  # fmt: skip
        row = done.aggregate(total=Count("pk"), total_seconds=Sum("seconds"), **buckets)
        histogram = HistogramMetricFamily(
            "bulwark_audit_duration_seconds",
            "Seconds each finished audit took to collect and evaluate.",
            buckets=[
                *((str(b), row[f"le_{i}"]) for i, b in enumerate(DURATION_BUCKETS)),
                ("+Inf", row["total"]),
            ],
            sum_value=row["total_seconds"] or 0.0,
        )
        yield histogram
