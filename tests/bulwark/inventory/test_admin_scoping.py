"""Isolation in the admin: a user of group A gets 404 for every page of group B's objects, never
sees them listed, offered in a select or an autocomplete, and no action reaches them; roles
decide what the admin lets each user do."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from bulwark.audits.models import AlertEvent, Audit
from bulwark.inventory.models import Host
from tests.bulwark.world import World, build_world

pytestmark = pytest.mark.django_db

# admin URL part -> the Side attribute holding its object.
PAGES = {
    "inventory/group": "group",
    "inventory/host": "host",
    "inventory/credential": "credential",
    "inventory/membership": "membership",
    "audits/audit": "audit",
    "audits/result": "result",
    "audits/scoresample": "sample",
    "audits/alertevent": "alert",
    "audits/schedule": "group_schedule",
}
B_NAMES = ["group-b", "web-b", "local-b", "cred-b"]


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def login(world: World) -> Callable[[str], Client]:
    def make(name: str) -> Client:
        client = Client()
        client.force_login(world.users[name])
        return client

    return make


def test_every_page_of_a_group_b_object_is_a_404_for_group_a(
    world: World, login: Callable[[str], Client]
) -> None:
    client = login("a_admin")
    for page, attr in PAGES.items():
        pk = getattr(world.b, attr).pk
        for view in ("change", "delete", "history"):
            url = f"/admin/{page}/{pk}/{view}/"
            assert client.get(url).status_code == 404, url
        assert client.post(f"/admin/{page}/{pk}/delete/", {"post": "yes"}).status_code == 404
        mine = getattr(world.a, attr).pk
        assert client.get(f"/admin/{page}/{mine}/change/").status_code == 200, page
    assert Host.objects.filter(group=world.b.group).count() == 2


def test_changelists_filters_and_selects_show_only_group_a(
    world: World, login: Callable[[str], Client]
) -> None:
    client = login("a_admin")
    pages = [f"/admin/{page}/" for page in PAGES]
    pages += ["/admin/inventory/host/add/", "/admin/inventory/credential/add/", "/admin/"]
    pages += ["/admin/audits/schedule/add/", "/admin/inventory/membership/add/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        for name in B_NAMES:
            assert name not in text, (url, name)
        for secret in world.secrets():
            assert secret not in text, url
    listed = client.get("/admin/inventory/host/").content.decode()
    assert "web-a" in listed and "local-a" in listed


def test_autocompletes_offer_only_group_a(world: World, login: Callable[[str], Client]) -> None:
    client = login("a_admin")
    for model, field in (
        ("host", "group"),
        ("host", "credential"),
        ("credential", "jump_host"),
        ("schedule", "host"),
        ("schedule", "group"),
    ):
        app = "audits" if model == "schedule" else "inventory"
        response = client.get(
            "/admin/autocomplete/",
            {"app_label": app, "model_name": model, "field_name": field, "term": ""},
        )
        assert response.status_code == 200, (model, field)
        texts = [row["text"] for row in response.json()["results"]]
        assert texts and not set(texts) & set(B_NAMES), (model, field, texts)


def test_actions_never_reach_group_b(
    world: World, login: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulwark.audits import delivery

    sent: list[int] = []
    monkeypatch.setattr(delivery, "enqueue_on_commit", sent.append)
    client = login("a_admin")
    b_hosts = [world.b.host.pk, world.b.local.pk]
    client.post(
        "/admin/inventory/host/", {"action": "audit_hosts_now", "_selected_action": b_hosts}
    )
    client.post(
        "/admin/inventory/group/",
        {"action": "audit_groups_now", "_selected_action": [world.b.group.pk]},
    )
    client.post(
        "/admin/audits/audit/", {"action": "audit_again", "_selected_action": [world.b.audit.pk]}
    )
    client.post(
        "/admin/audits/alertevent/",
        {"action": "acknowledge", "_selected_action": [world.b.alert.pk]},
    )
    client.post(
        "/admin/inventory/host/",
        {"action": "delete_selected", "_selected_action": b_hosts, "post": "yes"},
    )
    assert sent == []
    assert not Audit.objects.filter(host__group=world.b.group, status="queued").exists()
    assert AlertEvent.objects.get(pk=world.b.alert.pk).acknowledged_at is None
    assert Host.objects.filter(pk__in=b_hosts).count() == 2


def test_roles_decide_what_the_admin_allows(
    world: World, login: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulwark.audits import delivery

    sent: list[int] = []
    monkeypatch.setattr(delivery, "enqueue_on_commit", sent.append)
    host = world.a.local
    change = f"/admin/inventory/host/{host.pk}/change/"
    form = {"name": "renamed", "group": world.a.group.pk, "address": "localhost", "port": 22}
    form |= {"transport": "local", "winrm_auth": "ntlm"}  # winrm_auth: the WinRM fieldset's
    viewer = login("a_viewer")
    assert viewer.get(change).status_code == 200  # read-only view
    assert viewer.post(change, form).status_code == 403
    assert viewer.get("/admin/inventory/host/add/").status_code == 403
    assert viewer.get("/admin/inventory/membership/").status_code == 403  # admins only
    select = {"action": "audit_hosts_now", "_selected_action": [host.pk]}
    viewer.post("/admin/inventory/host/", select)
    assert sent == []
    login("a_operator").post("/admin/inventory/host/", select)
    assert len(sent) == 1
    response = login("a_admin").post(change, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Host.objects.get(pk=host.pk).name == "renamed"
    root = login("root").get("/admin/inventory/host/").content.decode()
    assert "web-b" in root and "web-a" in root
