"""What an audit of a host runs: the assignments resolved into the runtime's selection.

The host's group's assignments (or, when the group has none, the defaults; with no default
either, every enabled policy at every level), then the host's own assignments on top: a host
assignment replaces its group's for the same policy.
"""

from __future__ import annotations

from bulwark.audits.targets import Assignment
from bulwark.inventory.models import Host
from bulwark.policies.models import Policy
from workers.engine.selection import PolicySelection


def selection_for(host: Host) -> dict[str, PolicySelection]:
    """Policy id -> the levels and profile to run, for enabled policies only."""
    return selection_in(host.group_id, host.pk)


def selection_in(group_id: int, host_id: int | None = None) -> dict[str, PolicySelection]:
    """The selection of a host of this group; `host_id` None: of one without assignments of
    its own."""
    enabled = Assignment.objects.filter(policy__enabled=True).select_related("policy")
    chosen: dict[str, PolicySelection] = {}
    if Assignment.objects.filter(group_id=group_id, host__isnull=True).exists():
        base = enabled.filter(group_id=group_id, host__isnull=True)
    elif Assignment.objects.filter(group__isnull=True, host__isnull=True).exists():
        base = enabled.filter(group__isnull=True, host__isnull=True)
    else:
        base = enabled.none()
        for policy_id in Policy.objects.filter(enabled=True).values_list("policy_id", flat=True):
            chosen[policy_id] = PolicySelection()
    own = enabled.filter(host_id=host_id) if host_id is not None else enabled.none()
    for row in [*base, *own]:
        chosen[row.policy.policy_id] = _selection(row)
    return chosen


def _selection(row: Assignment) -> PolicySelection:
    return PolicySelection(levels=frozenset(row.levels), profile=row.profile or None)
