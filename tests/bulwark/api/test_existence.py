"""Finding: existence leaks. The membership form told a group admin whether any username
exists; renaming a group told whether a name was taken; widgets kept naming a group the user
had left; creating a host told whether another group used its name. Each answer is now the same
for "exists elsewhere" and "does not exist"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from bulwark.inventory.models import Host, Membership, Role
from bulwark.web.models import Widget
from tests.bulwark.world import World


def test_adding_a_member_answers_the_same_for_a_stranger_and_a_ghost(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    get_user_model().objects.create_user("stranger", password="x-Unused-pass-1")
    admin = client_for("a_admin")
    answers = [
        admin.post("/api/memberships/", {"group": world.a.group.pk, "user": name}, format="json")
        for name in ("stranger", "no-such-user-at-all")
    ]
    assert [a.status_code for a in answers] == [400, 400]
    stranger, ghost = (a.json()["user"][0] for a in answers)
    assert stranger.replace("stranger", "X") == ghost.replace("no-such-user-at-all", "X")
    # Someone the admin already works with can be added; a superuser adds anyone.
    ok = admin.post(
        "/api/memberships/", {"group": world.a.group.pk, "user": "a_viewer"}, format="json"
    )
    assert ok.status_code == 400 and "unique" in str(ok.json()).lower()  # already a member
    root = client_for("root")
    added = root.post(
        "/api/memberships/", {"group": world.a.group.pk, "user": "stranger"}, format="json"
    )
    assert added.status_code == 201, added.content


def test_the_admin_membership_form_answers_the_same_too(world: World) -> None:
    get_user_model().objects.create_user("stranger", password="x-Unused-pass-1")
    client = Client()
    client.force_login(world.users["a_admin"])
    bodies = []
    for name in ("stranger", "no-such-user-at-all"):
        response = client.post(
            "/admin/inventory/membership/add/",
            {"group": world.a.group.pk, "user": name, "role": "viewer"},
        )
        assert response.status_code == 200  # the form again, with an error
        bodies.append(response.content.decode().replace(name, "X"))
    assert not Membership.objects.filter(user__username="stranger").exists()
    error = "Select a valid choice"
    assert error in bodies[0] and error in bodies[1]


def test_a_group_admin_cannot_rename_a_group(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    url = f"/api/groups/{world.a.group.pk}/"
    taken = client_for("a_admin").patch(url, {"name": world.b.group.name}, format="json")
    free = client_for("a_admin").patch(url, {"name": "nobody-has-this"}, format="json")
    assert taken.status_code == free.status_code == 400
    assert taken.json() == free.json() == {"name": ["only a superuser renames a group"]}


def test_leaving_a_group_drops_it_from_the_users_widgets(world: World) -> None:
    viewer = world.users["a_viewer"]
    widget = Widget.objects.create(user=viewer, group=world.a.group, title="A's scores")
    Membership.objects.filter(user=viewer, group=world.a.group, role=Role.VIEWER).delete()
    widget.refresh_from_db()
    assert widget.group is None
    client = Client()
    client.force_login(viewer)
    assert world.a.group.name not in client.get("/").content.decode()


def test_creating_a_host_answers_the_same_for_another_groups_name_and_a_free_one(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    # The probe: group A's admin creates hosts named like group B's to learn B's names. Names
    # are unique per group now, so another group's name is as free as an unused one.
    admin = client_for("a_admin")

    def create(name: str) -> Any:
        body = {
            "name": name,
            "address": "10.77.9.9",
            "group": world.a.group.pk,
            "credential": world.a.credential.pk,
        }
        return admin.post("/api/hosts/", body, format="json")

    taken_elsewhere, free = create(world.b.host.name), create("nobody-has-this-host")
    assert taken_elsewhere.status_code == free.status_code == 201, taken_elsewhere.content
    assert set(taken_elsewhere.json()) == set(free.json())
    assert Host.objects.filter(name=world.b.host.name).count() == 2
    # Renaming to another group's name is no different.
    renamed = admin.patch(
        f"/api/hosts/{world.a.host.pk}/", {"name": world.b.local.name}, format="json"
    )
    assert renamed.status_code == 200, renamed.content
    # Within its own group a name stays unique: that refusal names only A's own host.
    again = create(world.b.host.name)
    assert again.status_code == 400
    assert again.json() == {"name": ["this group already has a host with this name"]}
    # B's admin still sees only B's host of that name.
    names = client_for("b_admin").get("/api/hosts/", {"name": world.b.host.name}).json()
    assert [row["id"] for row in names["results"]] == [world.b.host.pk]
