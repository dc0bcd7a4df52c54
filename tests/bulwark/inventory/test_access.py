"""Access control: users see their groups' objects only; roles gate actions."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from bulwark.inventory.access import can, role_in, scope, visible_group_ids
from bulwark.inventory.models import Group, Host, Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    users = get_user_model().objects
    a, b = Group.objects.create(name="a"), Group.objects.create(name="b")
    Host.objects.create(name="ha", address="10.0.0.1", group=a, transport="ssh")
    Host.objects.create(name="hb", address="10.0.0.2", group=b, transport="ssh")
    viewer = users.create_user("viewer")
    Membership.objects.create(user=viewer, group=a, role=Role.VIEWER)
    operator = users.create_user("operator")
    Membership.objects.create(user=operator, group=b, role=Role.OPERATOR)
    root = users.create_superuser("root", password="x")
    nobody = users.create_user("nobody")
    return {"a": a, "b": b, "viewer": viewer, "operator": operator, "root": root, "nobody": nobody}


def names(queryset) -> list[str]:
    return sorted(queryset.values_list("name", flat=True))


def test_members_see_only_their_groups(world) -> None:
    assert names(scope(Host.objects.all(), world["viewer"], "group")) == ["ha"]
    assert names(scope(Host.objects.all(), world["operator"], "group")) == ["hb"]
    assert names(scope(Group.objects.all(), world["viewer"], "pk")) == ["a"]
    assert names(scope(Host.objects.all(), world["nobody"], "group")) == []
    assert names(scope(Host.objects.all(), world["root"], "group")) == ["ha", "hb"]


def test_roles_gate_actions(world) -> None:
    assert can(world["operator"], world["b"], Role.OPERATOR)
    assert not can(world["viewer"], world["a"], Role.OPERATOR)
    assert not can(world["viewer"], world["b"], Role.VIEWER)
    assert role_in(world["root"], world["a"]) is Role.ADMIN
    operators = scope(Host.objects.all(), world["viewer"], "group", at_least=Role.OPERATOR)
    assert names(operators) == []


def test_inactive_users_see_nothing(world) -> None:
    world["viewer"].is_active = False
    assert list(visible_group_ids(world["viewer"])) == []
