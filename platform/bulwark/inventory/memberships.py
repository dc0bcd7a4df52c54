"""Membership changes with the API's rules: a group's admins add, re-role and remove its
members; whom they may add is `access.addable_users` (superusers: anyone; group admins: people
already in a group they administer), and a name outside that set gets the same answer as a name
that does not exist, so the form tells nobody which accounts exist elsewhere. A group keeps at
least one admin: the web pages, the API and the admin refuse to remove, demote or move its last
one (`keeps_an_admin`), who would otherwise leave the group to superusers alone. The check and
the change it allows are one transaction holding the group's row lock, so two admins demoting
each other at the same moment cannot both pass it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

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


def keeps_an_admin(
    membership: Membership, role: str | None = None, group_id: int | None = None
) -> None:
    """Refuse a change that would leave a group without an admin: `membership` (as stored)
    removed (no role), or changed to `role` in `group_id`. Call it inside the transaction
    that makes the change: it locks the group's row until that transaction ends, and reads
    the other admins after the lock, so a concurrent change to the group's admins waits and
    then sees this one."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("keeps_an_admin: call it in the transaction that makes the change")
    stored = Membership.objects.filter(pk=membership.pk, role=Role.ADMIN).values_list(
        "group_id", "group__name"
    )
    admin_of = stored.first()
    if admin_of is None:
        return  # not an admin: nothing to keep
    if role == Role.ADMIN and group_id in (None, admin_of[0]):
        return
    list(Group.objects.select_for_update().filter(pk=admin_of[0]).values_list("pk"))
    others = Membership.objects.filter(group_id=admin_of[0], role=Role.ADMIN)
    if not others.exclude(pk=membership.pk).exists():
        raise ValidationError(
            {
                "role": _("%(group)s would have no admin left: make another member admin first.")
                % {"group": admin_of[1]}
            }
        )


@transaction.atomic
def change_role(user: Any, membership: Membership, role: str) -> None:
    _require_admin(user, membership.group_id)
    keeps_an_admin(membership, role)
    membership.role = role
    membership.full_clean()
    Membership.objects.filter(pk=membership.pk).update(role=role)


@transaction.atomic
def remove(user: Any, membership: Membership) -> None:
    _require_admin(user, membership.group_id)
    keeps_an_admin(membership)
    membership.delete()
