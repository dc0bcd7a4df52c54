"""The zones page: who sees which zone, its workers, queue depth read from the real broker, the
warning for a zone with hosts but no live worker, in English and Japanese."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from kombu import Connection, Exchange, Queue

from bulwark.audits.models import Audit, AuditStatus, WorkerHeartbeat
from bulwark.celery_app import app
from bulwark.inventory.models import Group, Host, Membership, Role
from tests.bulwark.e2e.stack import forget_broker_connections, redis_broker_url

ZONE = "zpage"


@pytest.fixture
def zones(db: None) -> dict[str, Any]:
    site, lab = Group.objects.create(name="site", zone=ZONE), Group.objects.create(name="lab")
    for n in range(2):
        Host.objects.create(name=f"s{n}", address="localhost", transport="local", group=site)
    busy = Host.objects.create(name="l0", address="localhost", transport="local", group=lab)
    Audit.objects.create(host=busy, status=AuditStatus.RUNNING)
    now = timezone.now()
    beat = {"started_at": now, "concurrency": 16}
    WorkerHeartbeat.objects.create(
        hostname="w-site", zones=[ZONE], last_seen=now, running=3, **beat
    )
    WorkerHeartbeat.objects.create(
        hostname="w-old", zones=["default"], last_seen=now - timedelta(hours=2), **beat
    )
    WorkerHeartbeat.objects.create(hostname="w-mars", zones=["mars"], last_seen=now, **beat)
    users = {"root": get_user_model().objects.create_superuser("root", password="x")}
    for name, group, role in (("site-admin", site, Role.ADMIN), ("lab-viewer", lab, Role.VIEWER)):
        users[name] = get_user_model().objects.create_user(name, password="x")
        Membership.objects.create(user=users[name], group=group, role=role)
    users["nobody"] = get_user_model().objects.create_user("nobody", password="x")
    return users


def _page(user: Any, **headers: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/zones/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_each_role_sees_the_zones_of_its_groups_only(zones: dict[str, Any]) -> None:
    root = _page(zones["root"])
    for shown in (f'id="zone-{ZONE}"', 'id="zone-default"', 'id="zone-mars"', "w-site", "w-mars"):
        assert shown in root
    # The lab's zone (default) has a host and only a silent worker: the warning, and why.
    assert "1 host in zone default but no live worker" in root
    assert "manage.py worker --zone default" in root
    assert f"hosts in zone {ZONE} but no live worker" not in root  # w-site is alive
    site = _page(zones["site-admin"])
    assert f'id="zone-{ZONE}"' in site and "w-site" in site
    for hidden in ('id="zone-default"', "w-old", "w-mars", 'id="zone-mars"'):
        assert hidden not in site
    lab = _page(zones["lab-viewer"])
    assert 'id="zone-default"' in lab and "w-old" in lab and "silent" in lab
    for hidden in (f'id="zone-{ZONE}"', "w-site", "w-mars"):
        assert hidden not in lab
    nobody = _page(zones["nobody"])
    assert "None of your hosts is in a zone yet." in nobody and "w-" not in nobody
    # No broker here (tasks run in-process): the depth is not made up.
    assert "unknown" in site


def test_signed_out_users_go_to_the_login_page(zones: dict[str, Any]) -> None:
    response = Client().get("/zones/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_page_speaks_japanese(zones: dict[str, Any]) -> None:
    page = _page(zones["root"], HTTP_ACCEPT_LANGUAGE="ja")
    assert "ゾーン" in page and "稼働中のワーカー" in page
    assert "ゾーン default にホストが 1 台ありますが、稼働中のワーカーがありません" in page


@pytest.fixture
def real_broker(settings: Any) -> Iterator[str]:
    url = redis_broker_url()
    previous = app.conf.broker_url
    app.conf.broker_url, settings.CELERY_TASK_ALWAYS_EAGER = url, False
    try:
        yield url
    finally:
        app.conf.broker_url = previous
        forget_broker_connections()
        redis.Redis.from_url(url).delete(f"zone.{ZONE}")


def test_the_queue_depth_is_read_from_the_broker(zones: dict[str, Any], real_broker: str) -> None:
    with Connection(real_broker) as connection:
        queue = Queue(f"zone.{ZONE}", Exchange(f"zone.{ZONE}"), routing_key=f"zone.{ZONE}")
        producer = connection.Producer()
        for n in range(4):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key=f"zone.{ZONE}",
                             declare=[queue])  # fmt: skip
    page = _page(zones["site-admin"])
    assert "<td>2</td><td>0</td><td>0</td><td>4</td><td>1</td>" in page
