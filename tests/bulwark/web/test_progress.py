"""Live progress: progress.json lists the queued and running audits of your groups only, by
host or group, and the host, host list and dashboard pages carry the region it updates."""

from __future__ import annotations

from django.test import Client

from bulwark.audits.models import Audit, AuditStatus
from tests.bulwark.reports.fleet import PASSWORD, Fleet


def signed_in(name: str) -> Client:
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


def test_it_lists_the_active_audits_of_your_groups_only(fleet: Fleet) -> None:
    web, vault = fleet.hosts["web-1"], fleet.hosts["vault-1"]
    queued = Audit.objects.create(host=web)
    Audit.objects.create(host=vault)  # bob's group, not alice's
    data = signed_in("alice").get("/progress.json").json()
    assert data["count"] == 1
    (row,) = data["audits"]
    assert row["id"] == queued.pk and row["host"] == "web-1" and row["status"] == "queued"
    assert row["host_url"] == f"/hosts/{web.pk}/"
    assert signed_in("bob").get(f"/progress.json?host={web.pk}").json()["count"] == 0


def test_it_filters_by_host_and_group_and_drops_finished_audits(fleet: Fleet) -> None:
    web, db = fleet.hosts["web-1"], fleet.hosts["db-1"]
    Audit.objects.create(host=web, status=AuditStatus.RUNNING)
    Audit.objects.create(host=db)
    client = signed_in("alice")
    assert client.get(f"/progress.json?host={db.pk}").json()["count"] == 1
    by_group = client.get(f"/progress.json?group={web.group_id}").json()
    assert [a["host"] for a in by_group["audits"]] == ["web-1"]
    Audit.objects.filter(host=db).update(status=AuditStatus.DONE)
    assert client.get(f"/progress.json?host={db.pk}").json()["count"] == 0


def test_a_bad_id_is_a_clear_400(fleet: Fleet) -> None:
    response = signed_in("alice").get("/progress.json?host=web-1")
    assert response.status_code == 400
    assert response.json() == {"error": "host: 'web-1' is not an id"}


def test_signed_out_it_asks_to_sign_in(fleet: Fleet) -> None:
    response = Client().get("/progress.json")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_pages_carry_the_progress_region(fleet: Fleet) -> None:
    web = fleet.hosts["web-1"]
    Audit.objects.create(host=web)
    client = signed_in("alice")
    host_page = client.get(f"/hosts/{web.pk}/").content.decode()
    assert f'data-url="/progress.json?host={web.pk}"' in host_page
    assert "web-1</a> · queued" in host_page  # the first render, before any poll
    group_page = client.get(f"/hosts/?group={web.group_id}").content.decode()
    assert f'data-url="/progress.json?group={web.group_id}"' in group_page
    assert 'data-url="/progress.json"' in client.get("/").content.decode()
