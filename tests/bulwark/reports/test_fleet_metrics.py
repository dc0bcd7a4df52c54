"""/metrics of the fleet: per zone hosts, queued and running audits, live workers and broker
messages; audits per status; the audit duration histogram; scoped like the other series. And
the Grafana dashboard in deploy/grafana/ asks only for series /metrics serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from kombu import Connection, Exchange, Queue
from prometheus_client.parser import text_string_to_metric_families

from bulwark.audits.models import Audit, AuditStatus, WorkerHeartbeat
from bulwark.celery_app import app
from bulwark.inventory.models import Group, Host
from tests.bulwark.e2e.stack import forget_broker_connections, redis_broker_url
from tests.bulwark.reports.test_metrics import samples, scrape, user_token

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "bulwark-fleet.json"
TOKEN = "fleet-metrics-token"


@pytest.fixture
def fleet_rows(db: None, settings: Any) -> dict[str, Host]:
    """Two zones: dmz (two hosts, a live worker, audits of every status) and default (a host,
    only a dead worker)."""
    settings.METRICS_TOKEN = TOKEN
    dmz, plain = Group.objects.create(name="dmz", zone="dmz"), Group.objects.create(name="plain")
    hosts = {
        name: Host.objects.create(name=name, address="localhost", transport="local", group=g)
        for name, g in (("d1", dmz), ("d2", dmz), ("p1", plain))
    }
    for seconds in (0.3, 0.8, 4.0, 45.0):
        Audit.objects.create(host=hosts["d1"], status=AuditStatus.DONE, seconds=seconds)
    Audit.objects.create(host=hosts["p1"], status=AuditStatus.DONE, seconds=2.0)
    Audit.objects.create(host=hosts["p1"], status=AuditStatus.ERROR)
    Audit.objects.create(host=hosts["d1"], status=AuditStatus.RUNNING)
    Audit.objects.create(host=hosts["d2"])
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        hostname="dmz-1", zones=["dmz"], concurrency=8, started_at=now, last_seen=now
    )
    WorkerHeartbeat.objects.create(
        hostname="old", zones=["default"], started_at=now, last_seen=now - timedelta(hours=1)
    )
    return hosts


def test_zones_statuses_and_durations_are_served(fleet_rows: dict[str, Host]) -> None:
    status, body = scrape(TOKEN)
    assert status == 200
    values = samples(body)
    dmz, default = (("zone", "dmz"),), (("zone", "default"),)
    assert values[("bulwark_zone_hosts", dmz)] == 2 and values[("bulwark_zone_hosts", default)] == 1
    assert values[("bulwark_zone_audits_queued", dmz)] == 1
    assert values[("bulwark_zone_audits_running", dmz)] == 1
    assert values[("bulwark_zone_workers", dmz)] == 1
    assert values[("bulwark_zone_workers", default)] == 0  # its only worker stopped beating
    by_status = {s: values[("bulwark_audits", (("status", s),))] for s in AuditStatus.values}
    assert by_status == {"queued": 1, "running": 1, "done": 5, "error": 1}
    bucket = "bulwark_audit_duration_seconds_bucket"
    assert values[(bucket, (("le", "0.5"),))] == 1
    assert values[(bucket, (("le", "1.0"),))] == 2
    assert values[(bucket, (("le", "5.0"),))] == 4
    assert values[(bucket, (("le", "60.0"),))] == 5
    assert values[(bucket, (("le", "+Inf"),))] == 5
    assert values[("bulwark_audit_duration_seconds_count", ())] == 5
    assert values[("bulwark_audit_duration_seconds_sum", ())] == pytest.approx(52.1)
    # No broker here (tasks in-process): no broker depth is made up.
    assert not [key for key in values if key[0] == "bulwark_zone_queue_messages"]


def test_a_user_s_token_sees_only_the_zones_and_audits_of_their_groups(
    fleet_rows: dict[str, Host],
) -> None:
    from django.contrib.auth import get_user_model

    from bulwark.inventory.models import Membership, Role

    user = get_user_model().objects.create_user("plain-viewer", password="x")
    Membership.objects.create(user=user, group=fleet_rows["p1"].group, role=Role.VIEWER)
    values = samples(scrape(user_token("plain-viewer"))[1])
    assert {dict(k[1])["zone"] for k in values if k[0] == "bulwark_zone_hosts"} == {"default"}
    assert values[("bulwark_audits", (("status", "done"),))] == 1
    assert values[("bulwark_audit_duration_seconds_count", ())] == 1


@pytest.fixture
def real_broker() -> Iterator[str]:
    """The Celery app publishing to the test Redis for the length of a test."""
    url = redis_broker_url()
    previous = app.conf.broker_url
    app.conf.broker_url = url
    try:
        yield url
    finally:
        app.conf.broker_url = previous
        forget_broker_connections()


def test_the_broker_depth_of_each_zone_queue_is_read_from_redis(
    fleet_rows: dict[str, Host], real_broker: str, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with Connection(real_broker) as connection:
        queue = Queue("zone.dmz", Exchange("zone.dmz"), routing_key="zone.dmz")
        producer = connection.Producer()
        for n in range(3):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key="zone.dmz",
                             declare=[queue])  # fmt: skip
    values = samples(scrape(TOKEN)[1])
    assert values[("bulwark_zone_queue_messages", (("queue", "zone.dmz"), ("zone", "dmz")))] == 3
    # The default zone's queue was never used: zero, not an error.
    assert values[("bulwark_zone_queue_messages", (("queue", "celery"), ("zone", "default")))] == 0


def _served_names(body: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(body):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_every_series_of_the_grafana_dashboard_is_served(fleet_rows: dict[str, Host]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    assert len(exprs) >= 10
    served = _served_names(scrape(TOKEN)[1])
    for expr in exprs:
        names = set(re.findall(r"\bbulwark_[a-z_]+\b", expr))
        assert names, f"no Bulwark series in {expr!r}"
        assert names <= served, f"{expr!r} asks for {sorted(names - served)}, not in /metrics"
