"""Isolation: a user of group A gets 404 for every object of group B on every endpoint, never
lists them, cannot start audits on them or point new objects at them; roles gate writes; and no
response ever carries a credential secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from bulwark.audits.models import Audit
from bulwark.inventory.models import Credential, Host
from tests.bulwark.api.conftest import ids
from tests.bulwark.world import Side, World

pytestmark = pytest.mark.django_db

# endpoint prefix -> the Side attribute holding its object, and whether it can be written.
OBJECTS = {
    "groups": ("group", True),
    "hosts": ("host", True),
    "credentials": ("credential", True),
    "memberships": ("membership", True),
    "audits": ("audit", False),
    "results": ("result", False),
    "score-samples": ("sample", False),
    "alerts": ("alert", False),
    "schedules": ("host_schedule", True),
}
ACTIONS = [
    ("hosts", "host", "audit"),
    ("hosts", "local", "audit"),
    ("groups", "group", "audit"),
    ("alerts", "alert", "acknowledge"),
]


class Recorder:
    """Every response body an API client got, to search for secrets afterwards."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.bodies: list[str] = []

    def __getattr__(self, method: str) -> Callable[..., Any]:
        call = getattr(self.client, method)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            response = call(*args, **kwargs)
            self.bodies.append(response.content.decode(errors="replace"))
            return response

        return recorded


def _pk(side: Side, attr: str) -> int:
    return int(getattr(side, attr).pk)


def test_a_user_of_group_a_gets_404_for_everything_of_group_b(
    world: World, client_for: Callable[[str], APIClient], enqueued: list[int]
) -> None:
    api = Recorder(client_for("a_admin"))  # the strongest role in A
    for prefix, (attr, writable) in OBJECTS.items():
        url = f"/api/{prefix}/{_pk(world.b, attr)}/"
        assert api.get(url).status_code == 404, url
        if writable:
            assert api.patch(url, {"name": "taken"}).status_code == 404, url
            assert api.put(url, {"name": "taken"}).status_code == 404, url
            assert api.delete(url).status_code == 404, url
    for prefix, attr, name in ACTIONS:
        url = f"/api/{prefix}/{_pk(world.b, attr)}/{name}/"
        assert api.post(url, {}).status_code == 404, url
    assert enqueued == []
    assert not Audit.objects.filter(host__group=world.b.group, status="queued").exists()
    assert world.b.alert.acknowledged_at is None
    assert Host.objects.filter(group=world.b.group).count() == 2
    _no_secrets(api.bodies, world)


def test_lists_and_filters_never_show_group_b(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = Recorder(client_for("a_admin"))
    for prefix, (attr, _) in OBJECTS.items():
        seen = ids(api.get(f"/api/{prefix}/", {"limit": 1000}))
        assert _pk(world.a, attr) in seen, prefix
        assert _pk(world.b, attr) not in seen, prefix
        for name, value in (("group", world.b.group.pk), ("host", world.b.local.pk)):
            assert ids(api.get(f"/api/{prefix}/", {name: value})).isdisjoint(
                {_pk(world.b, attr)}
            ), (prefix, name)
    assert ids(api.get("/api/results/", {"audit": world.b.audit.pk})) == set()
    assert ids(api.get("/api/schedules/")) == {world.a.host_schedule.pk, world.a.group_schedule.pk}
    _no_secrets(api.bodies, world)


def test_new_objects_cannot_point_into_group_b(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = Recorder(client_for("a_admin"))
    host = {"name": "new", "address": "127.0.0.1", "group": world.b.group.pk}
    assert "group" in api.post("/api/hosts/", host).json()
    host = {**host, "group": world.a.group.pk, "credential": world.b.credential.pk}
    assert "credential" in api.post("/api/hosts/", host).json()
    credential = {"group": world.b.group.pk, "name": "x", "username": "u", "secret": "pw"}
    assert "group" in api.post("/api/credentials/", {**credential, "kind": "ssh-password"}).json()
    assert "host" in api.post("/api/schedules/", {"host": world.b.host.pk}).json()
    assert "group" in api.post("/api/schedules/", {"group": world.b.group.pk}).json()
    member = {"group": world.b.group.pk, "user": "a_viewer", "role": "admin"}
    assert "group" in api.post("/api/memberships/", member).json()
    moved = api.patch(f"/api/hosts/{world.a.local.pk}/", {"group": world.b.group.pk})
    assert moved.status_code == 400 and "group" in moved.json()
    assert not Host.objects.filter(name="new").exists()
    _no_secrets(api.bodies, world)


def test_viewers_read_operators_audit_admins_change(
    world: World, client_for: Callable[[str], APIClient], enqueued: list[int]
) -> None:
    host = f"/api/hosts/{world.a.local.pk}/"
    viewer, operator, admin = (client_for(n) for n in ("a_viewer", "a_operator", "a_admin"))
    assert viewer.get(host).status_code == 200
    assert viewer.patch(host, {"port": 2200}).status_code == 403
    assert viewer.post(f"{host}audit/").status_code == 403
    assert viewer.post(f"/api/alerts/{world.a.alert.pk}/acknowledge/").status_code == 403
    assert viewer.post("/api/hosts/", {"name": "v", "address": "h"}).status_code == 403
    assert viewer.get("/api/memberships/").json()["count"] == 0  # members: admins only
    assert operator.patch(host, {"port": 2200}).status_code == 403
    assert operator.post(f"{host}audit/").status_code == 202
    assert operator.post(f"/api/groups/{world.a.group.pk}/audit/").status_code == 202
    assert operator.post(f"/api/alerts/{world.a.alert.pk}/acknowledge/").status_code == 200
    assert operator.delete(f"/api/schedules/{world.a.host_schedule.pk}/").status_code == 403
    assert admin.patch(host, {"port": 2200}).status_code == 200
    assert admin.post("/api/groups/", {"name": "mine"}).status_code == 403  # superusers only
    assert admin.delete(f"/api/schedules/{world.a.host_schedule.pk}/").status_code == 204
    assert len(enqueued) == 2  # the local host once (still active), then the ssh host
    root = client_for("root")
    assert {world.a.group.pk, world.b.group.pk} <= ids(root.get("/api/groups/"))
    assert root.post("/api/groups/", {"name": "made-by-root"}).status_code == 201


def test_deleting_a_group_still_in_use_is_a_conflict(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    response = client_for("a_admin").delete(f"/api/groups/{world.a.group.pk}/")
    assert response.status_code == 409
    assert Credential.objects.filter(group=world.a.group).exists()


def test_anonymous_requests_are_refused(world: World) -> None:
    anonymous = APIClient()
    for prefix in OBJECTS:
        assert anonymous.get(f"/api/{prefix}/").status_code in (401, 403), prefix
    assert anonymous.post(f"/api/hosts/{world.a.local.pk}/audit/").status_code in (401, 403)


def _no_secrets(bodies: list[str], world: World) -> None:
    text = "\n".join(bodies)
    assert text  # something was recorded
    for secret in world.secrets():
        assert secret not in text
