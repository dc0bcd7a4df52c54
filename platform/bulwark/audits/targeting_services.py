"""What runs where, changed with the API's rules: enabling a policy of the catalogue
(superusers: it is shared by every group) and assignments (which policies, levels and profile
apply to a group or one host: a group's admins change its own and its hosts'; the defaults,
no group and no host, are superusers'). Validation is the model's clean()."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from bulwark.audits.targets import Assignment
from bulwark.inventory.access import can, is_unrestricted
from bulwark.inventory.models import Host, Role
from bulwark.policies.models import Policy


def may_change(user: Any, assignment: Assignment) -> bool:
    if assignment.host_id is not None:
        group_id = Host.objects.values_list("group_id", flat=True).get(pk=assignment.host_id)
        return can(user, group_id, Role.ADMIN)
    if assignment.group_id is not None:
        return can(user, assignment.group_id, Role.ADMIN)
    return is_unrestricted(user)


def save(user: Any, assignment: Assignment) -> Assignment:
    """Validate and store a new or changed assignment; raises PermissionDenied or
    ValidationError. Like the API, it re-scores nothing: the next audit runs the new scope."""
    if not may_change(user, assignment):
        raise PermissionDenied("only admins of the group (superusers for defaults) assign policies")
    if assignment.pk is not None:
        stored = Assignment.objects.get(pk=assignment.pk)
        if not may_change(user, stored):  # moving another group's row here is no way in
            raise PermissionDenied("only admins of the group change its assignments")
    assignment.full_clean()
    if assignment.created_by_id is None and getattr(user, "pk", None):
        assignment.created_by = user
    with transaction.atomic():
        assignment.save()
    return assignment


def delete(user: Any, assignment: Assignment) -> None:
    if not may_change(user, assignment):
        raise PermissionDenied("only admins of the group (superusers for defaults) remove it")
    assignment.delete()


def set_enabled(user: Any, policy: Policy, enabled: bool) -> bool:
    """Enable or disable a policy for every audit from now on; False when it already was."""
    if not is_unrestricted(user):
        raise PermissionDenied("only superusers enable or disable policies")
    changed = Policy.objects.filter(pk=policy.pk).exclude(enabled=enabled).update(enabled=enabled)
    policy.enabled = enabled
    return changed == 1
