"""A group keeps at least one admin (inventory/memberships.py): its last admin cannot be
removed, demoted or moved to another group through the API, the web pages or the Django admin,
by themselves or by anyone; with a second admin, either may go. Without this, a group admin
removing themselves left the group to superusers alone."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from bulwark.inventory import memberships
from bulwark.inventory.models import Group, Membership, Role
from tests.bulwark.conftest import using_postgres
from tests.bulwark.web.test_manage import signed_in
from tests.bulwark.world import World

LAST = "would have no admin left"


def _last(world: World) -> Membership:
    return Membership.objects.get(user=world.users["a_admin"], group=world.a.group)


def test_the_api_keeps_the_last_admin(world: World, client_for: Callable[[str], APIClient]) -> None:
    own = _last(world)
    url = f"/api/memberships/{own.pk}/"
    for client in (client_for("a_admin"), client_for("root")):
        gone = client.delete(url)
        assert gone.status_code == 400 and LAST in str(gone.json()), gone.content
        demoted = client.patch(url, {"role": "viewer"}, format="json")
        assert demoted.status_code == 400 and LAST in str(demoted.json())
    moved = client_for("root").patch(url, {"group": world.b.group.pk}, format="json")
    assert moved.status_code == 400 and LAST in str(moved.json())
    assert Membership.objects.get(pk=own.pk).role == Role.ADMIN
    # Another member's role still changes; with a second admin, the first may leave.
    viewer = Membership.objects.get(user=world.users["a_viewer"], group=world.a.group)
    promoted = client_for("a_admin").patch(
        f"/api/memberships/{viewer.pk}/", {"role": "admin"}, format="json"
    )
    assert promoted.status_code == 200, promoted.content
    assert client_for("a_admin").delete(url).status_code == 204
    assert not Membership.objects.filter(pk=own.pk).exists()


def test_the_web_pages_keep_the_last_admin(world: World) -> None:
    own = _last(world)
    admin = signed_in("a_admin")
    url = f"/manage/groups/{world.a.group.pk}/members/{own.pk}/"
    for form in ({"remove": "1"}, {"role": "operator"}):
        answer = admin.post(url, form, follow=True)
        assert answer.status_code == 200 and LAST in answer.content.decode()
    assert Membership.objects.get(pk=own.pk).role == Role.ADMIN
    viewer = Membership.objects.get(user=world.users["a_viewer"], group=world.a.group)
    admin.post(f"/manage/groups/{world.a.group.pk}/members/{viewer.pk}/", {"role": "admin"})
    assert admin.post(url, {"remove": "1"}).status_code == 302
    assert not Membership.objects.filter(pk=own.pk).exists()


def test_the_django_admin_keeps_the_last_admin(world: World) -> None:
    own = _last(world)
    client = Client()
    client.force_login(world.users["a_admin"])
    change = f"/admin/inventory/membership/{own.pk}/change/"
    answer = client.post(change, {"group": world.a.group.pk, "user": "a_admin", "role": "viewer"})
    assert answer.status_code == 200 and LAST in answer.content.decode()
    assert (
        client.post(f"/admin/inventory/membership/{own.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    everyone = list(Membership.objects.filter(group=world.a.group).values_list("pk", flat=True))

    def delete_selected(pks: list[int]) -> str:
        answer = client.post(
            "/admin/inventory/membership/",
            {"action": "delete_selected", "_selected_action": pks, "post": "yes"},
            follow=True,
        )
        return f"{answer.status_code} {answer.content.decode()}"

    # The last admin among them: refused as a deletion without permission.
    assert delete_selected(everyone).startswith("403 ")
    # Two admins, both selected: each alone may go, not both.
    Membership.objects.filter(user=world.users["a_viewer"], group=world.a.group).update(
        role=Role.ADMIN
    )
    admins = Membership.objects.filter(group=world.a.group, role=Role.ADMIN)
    assert LAST in delete_selected(list(admins.values_list("pk", flat=True)))
    assert Membership.objects.filter(group=world.a.group).count() == 3
    assert Membership.objects.get(pk=own.pk).role == Role.ADMIN


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check and the change are one transaction under the group's row lock: the second
    demotion waits for the first to commit, then sees it and is refused. Without the lock
    both checks saw the other admin still in place and the group was left with none."""
    if not using_postgres():
        reason = "SQLite's in-memory test database is not shared between threads"
        if os.environ.get("CI") == "true":  # CI runs the suite on PostgreSQL (.ci/run)
            pytest.fail(f"{reason}: CI must set DATABASE_URL to PostgreSQL", pytrace=False)
        pytest.skip(reason)
    group = Group.objects.create(name="pair")
    User = get_user_model()
    first, second = (
        Membership.objects.create(
            user=User.objects.create(username=name), group=group, role=Role.ADMIN
        )
        for name in ("ann", "ben")
    )
    root = User.objects.create(username="root-pair", is_superuser=True)
    checked, release = threading.Event(), threading.Event()
    real_full_clean = Membership.full_clean

    def pausing_full_clean(self: Membership, *args: Any, **kwargs: Any) -> None:
        # Runs after the check and before the write: the first demotion waits here.
        if threading.current_thread().name == "first":
            checked.set()
            release.wait(10)
        real_full_clean(self, *args, **kwargs)

    monkeypatch.setattr(Membership, "full_clean", pausing_full_clean)
    outcomes: dict[str, str] = {}

    def demote(membership: Membership) -> None:
        try:
            memberships.change_role(root, membership, Role.VIEWER)
            outcomes[threading.current_thread().name] = "demoted"
        except ValidationError as exc:
            outcomes[threading.current_thread().name] = " ".join(exc.messages)
        finally:
            connection.close()

    one = threading.Thread(target=demote, args=(first,), name="first")
    one.start()
    assert checked.wait(10)
    two = threading.Thread(target=demote, args=(second,), name="second")
    two.start()
    two.join(2)  # without the lock it gets through its check (and writes) meanwhile
    release.set()
    one.join(10)
    two.join(10)
    assert outcomes["first"] == "demoted"
    assert LAST in outcomes["second"]
    assert list(Membership.objects.filter(group=group, role=Role.ADMIN)) == [second]
