"""Membership changes with the API's rules: a group's admins add, re-role and remove its
members; whom they may add is `access.addable_users` (superusers: anyone; group admins: people
already in a group they administer), and a name outside that set gets the same answer as a name
that does not exist, so the form tells nobody which accounts exist elsewhere."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from bulwark.inventory.access import addable_users, can
from bulwark.inventory.models import Group, Membership, Role


def _require_admin(user: Any, group_id: int) -> None:
    if not can(user, group_id, Role.ADMIN):
        raise PermissionDenied("only admins of the group change its members")


def add(user: Any, group: Group, username: str, role: str) -> Membership:
    _require_admin(user, group.pk)
    member = addable_users(user).filter(username=username.strip()).first()
    if member is None:
        raise ValidationError({"username": "no such user among those you may add"})
    if Membership.objects.filter(group=group, user=member).exists():
        raise ValidationError({"username": f"{member.username} is already a member"})
    membership = Membership(user=member, group=group, role=role)
    membership.full_clean()
    membership.save()
    return membership


def change_role(user: Any, membership: Membership, role: str) -> None:
    _require_admin(user, membership.group_id)
    membership.role = role
    membership.full_clean()
    Membership.objects.filter(pk=membership.pk).update(role=role)


def remove(user: Any, membership: Membership) -> None:
    _require_admin(user, membership.group_id)
    membership.delete()
