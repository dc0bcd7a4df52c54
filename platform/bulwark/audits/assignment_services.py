"""Assignment changes: create, update, delete. Each is checked (group admins for their group's
and hosts', superusers for the defaults), recorded in the security log, and re-scores the
affected hosts' latest audits at once from stored results (audits/rescoping_scope.py): the
API, the admin and the pages all come through here.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from bulwark.audits.rescoping_scope import Rescoped, rescope
from bulwark.audits.targets import Assignment
from bulwark.core import seclog
from bulwark.inventory.access import can, is_unrestricted
from bulwark.inventory.models import Host, Role


def may_change(user: Any, assignment: Assignment) -> bool:
    """Group admins change their group's assignments and its hosts'; superusers the defaults."""
    if assignment.host_id is not None:
        group_id = Host.objects.values_list("group_id", flat=True).get(pk=assignment.host_id)
        return can(user, group_id, Role.ADMIN)
    if assignment.group_id is not None:
        return can(user, assignment.group_id, Role.ADMIN)
    return is_unrestricted(user)


def save(user: Any, assignment: Assignment) -> Rescoped:
    """Validate and save a new or changed assignment, then re-score the hosts it reaches now
    or reached before."""
    before = None
    if assignment.pk is not None:
        before = Assignment.objects.select_related("policy", "group", "host").get(pk=assignment.pk)
        if not may_change(user, before):
            raise PermissionDenied("changing this assignment needs the admin role in its group")
    if not may_change(user, assignment):
        raise PermissionDenied(
            "assignments need the admin role in the group; defaults need a superuser"
        )
    assignment.full_clean()
    with transaction.atomic():
        if before is None and getattr(user, "pk", None):
            assignment.created_by = user
        assignment.save()
        if before is None:
            action, reason = "created", f"assignment created: {assignment}"
        else:
            action, reason = "changed", f"assignment changed: {assignment} (was {before})"
        _log(action, assignment, user, before)
        now, was = _reached(assignment), _reached(before) if before else set()
        return rescope(None if now is None or was is None else now | was, reason)


def delete(user: Any, assignment: Assignment) -> Rescoped:
    """Remove an assignment: its policy stops applying there (or the group falls back to the
    defaults), and the hosts it reached are re-scored."""
    if not may_change(user, assignment):
        raise PermissionDenied("removing this assignment needs the admin role in its group")
    with transaction.atomic():
        hosts = _reached(assignment)
        described = str(assignment)
        _log("deleted", assignment, user, None)
        assignment.delete()
        return rescope(hosts, f"assignment deleted: {described}")


def _reached(assignment: Assignment) -> set[int] | None:
    """Host ids whose selection this assignment may decide (None: the whole fleet: a default
    reaches every group without assignments of its own, which a change can alter)."""
    if assignment.host_id is not None:
        return {assignment.host_id}
    if assignment.group_id is not None:
        return set(Host.objects.filter(group_id=assignment.group_id).values_list("pk", flat=True))
    return None


def _log(action: str, assignment: Assignment, user: Any, before: Assignment | None) -> None:
    detail: dict[str, Any] = {
        "policy": assignment.policy.policy_id,
        "group": assignment.group_id,
        "host": assignment.host_id,
        "levels": list(assignment.levels),
        "profile": assignment.profile or None,
    }
    if before is not None:
        detail["was"] = {"levels": list(before.levels), "profile": before.profile or None}
    seclog.record(f"assignment.{action}", str(assignment)[:255], detail=detail, user=user)
