"""Enabling a policy of the catalogue, with the API's rule: superusers only (it is shared by
every group). Assignments change through audits/assignment_services.py (which re-scores)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from bulwark.core import seclog
from bulwark.inventory.access import is_unrestricted
from bulwark.policies.models import Policy


def set_enabled(user: Any, policy: Policy, enabled: bool) -> bool:
    """Enable or disable a policy for every audit from now on; False when it already was."""
    if not is_unrestricted(user):
        raise PermissionDenied("only superusers enable or disable policies")
    changed = Policy.objects.filter(pk=policy.pk).exclude(enabled=enabled).update(enabled=enabled)
    policy.enabled = enabled
    if changed:
        seclog.record("policy.switched", policy.policy_id, detail={"enabled": enabled})
    return changed == 1
