"""Zones: a host's zone (its own, else its group's), the router that sends an audit to its
zone's queue with its trigger's priority, the worker command's arguments, and the zone view."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from bulwark.audits.management.commands.worker import worker_argv
from bulwark.audits.models import Audit, AuditStatus, WorkerHeartbeat
from bulwark.audits.services import reap_expired_leases, start_audits
from bulwark.audits.zones import fleet_zones, queue_for, zone_of_queue
from bulwark.celery_app import app
from bulwark.inventory.models import Group, Host, Membership, Role
from tests.bulwark.e2e.stack import forget_broker_connections, redis_broker_url


def _host(name: str, group: Group, zone: str = "") -> Host:
    return Host.objects.create(
        name=name, address="localhost", transport="local", group=group, zone=zone
    )


def _route(audit: Audit) -> dict[str, object]:
    """Where the configured Celery router sends this audit's task."""
    return dict(app.amqp.router.route({}, "audits.audit_host", args=[audit.pk]))


@pytest.mark.django_db
def test_an_audit_goes_to_its_host_s_zone_queue_and_manual_ones_go_first() -> None:
    dmz = Group.objects.create(name="dmz", zone="dmz")
    plain = Group.objects.create(name="plain")
    inherits, overrides, default = _host("a", dmz), _host("b", dmz, "lab"), _host("c", plain)
    assert (inherits.effective_zone, overrides.effective_zone) == ("dmz", "lab")
    manual = _route(Audit.objects.create(host=inherits))
    assert manual["queue"].name == "zone.dmz" and manual["priority"] == 0  # type: ignore[attr-defined]
    scheduled = _route(Audit.objects.create(host=overrides, trigger=Audit.Trigger.SCHEDULE))
    assert scheduled["queue"].name == "zone.lab" and scheduled["priority"] == 6  # type: ignore[attr-defined]
    # The default zone is Celery's default queue: workers started without -Q keep auditing.
    assert _route(Audit.objects.create(host=default))["queue"].name == "celery"  # type: ignore[attr-defined]
    other = dict(app.amqp.router.route({}, "audits.reap_expired_leases", args=[]))
    assert other["queue"].name == "celery"  # type: ignore[attr-defined]


def test_queue_names_and_zones_map_both_ways() -> None:
    assert queue_for("default") == "celery" and queue_for("dmz") == "zone.dmz"
    assert zone_of_queue("celery") == "default" and zone_of_queue("zone.dmz") == "dmz"
    assert zone_of_queue("celery.pidbox") is None


@pytest.mark.django_db
def test_a_bad_zone_name_is_refused_naming_the_field() -> None:
    group = Group(name="g", zone="Has Spaces")
    with pytest.raises(ValidationError) as caught:
        group.full_clean()
    assert "zone" in caught.value.message_dict
    host = Host(name="h", address="localhost", transport="local", group=group, zone="-x")
    with pytest.raises(ValidationError) as caught:
        host.full_clean(exclude=["group"])
    assert "zone" in caught.value.message_dict


def test_the_worker_command_consumes_its_zones_queues() -> None:
    argv = worker_argv(["dmz", "default", "dmz"], 4, "threads", ["--hostname", "w@x"])
    assert argv == ["worker", "-Q", "zone.dmz,celery", "--pool", "threads",
                    "--concurrency", "4", "--hostname", "w@x"]  # fmt: skip
    with pytest.raises(CommandError, match="--zone Bad Zone"):
        worker_argv(["Bad Zone"], 1, "threads", [])


@pytest.mark.django_db
def test_the_zone_view_counts_hosts_audits_and_live_workers_and_warns() -> None:
    dmz, lab = Group.objects.create(name="dmz", zone="dmz"), Group.objects.create(name="lab")
    _host("d1", dmz), _host("d2", dmz)
    running = _host("l1", lab, zone="dmz")
    Audit.objects.create(host=running, status=AuditStatus.RUNNING)
    Audit.objects.create(host=_host("l2", lab))
    now = timezone.now()
    beat = {"started_at": now, "concurrency": 8}
    WorkerHeartbeat.objects.create(hostname="w1", zones=["dmz"], last_seen=now, running=1, **beat)
    WorkerHeartbeat.objects.create(
        hostname="old", zones=["default"], last_seen=now - timedelta(hours=1), **beat
    )
    WorkerHeartbeat.objects.create(hostname="far", zones=["mars"], last_seen=now, **beat)
    root = get_user_model().objects.create_superuser("root", password="x")
    zones = {z.name: z for z in fleet_zones(root)}
    assert set(zones) == {"default", "dmz", "mars"}
    assert (zones["dmz"].hosts, zones["dmz"].running, zones["dmz"].live_workers) == (3, 1, 1)
    assert zones["dmz"].warning == ""
    default = zones["default"]
    assert (default.hosts, default.queued, default.live_workers) == (1, 1, 0)
    assert [w.alive for w in default.workers] == [False]
    assert "1 host(s) in zone default but no live worker" in default.warning
    # A member of the lab group sees its zones only, not the workers of others.
    member = get_user_model().objects.create_user("m", password="x")
    Membership.objects.create(user=member, group=lab, role=Role.VIEWER)
    mine = {z.name: z for z in fleet_zones(member)}
    assert set(mine) == {"default", "dmz"} and mine["dmz"].hosts == 1


@pytest.fixture
def publishing_to_redis() -> Iterator[redis.Redis]:
    """Tasks published to the test Redis (not run in-process) for the length of a test."""
    url = redis_broker_url()
    saved = app.conf.broker_url, app.conf.task_always_eager
    forget_broker_connections()
    app.conf.broker_url, app.conf.task_always_eager = url, False
    try:
        yield redis.Redis.from_url(url)
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        forget_broker_connections()


@pytest.mark.django_db
def test_start_and_the_reaper_s_re_enqueue_publish_to_the_zone_queue(
    publishing_to_redis: redis.Redis, django_capture_on_commit_callbacks: Any
) -> None:
    dmz = Group.objects.create(name="dmz", zone="dmz")
    host = _host("d", dmz)
    with django_capture_on_commit_callbacks(execute=True):
        (audit,) = start_audits([host])
    assert publishing_to_redis.llen("zone.dmz") == 1
    assert publishing_to_redis.llen("celery") == 0
    publishing_to_redis.delete("zone.dmz")
    # Its worker died mid-audit: the lease expires and the reaper sends it again, to the zone.
    Audit.objects.filter(pk=audit.pk).update(
        status=AuditStatus.RUNNING, attempts=1, lease_expires=timezone.now() - timedelta(1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert reap_expired_leases() == [audit.pk]
    (raw,) = publishing_to_redis.lrange("zone.dmz", 0, -1)
    message = json.loads(raw)
    assert message["headers"]["task"] == "audits.audit_host"
    assert json.loads(base64.b64decode(message["body"]))[0] == [audit.pk]


def test_the_zones_api_needs_a_signed_in_user(client: Any, db: None) -> None:
    assert client.get("/api/zones/").status_code in (401, 403)
