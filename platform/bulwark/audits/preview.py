"""Policy preview for superusers: new or changed policy files evaluated on the facts kept from
each host's latest audit. No host is contacted, nothing is stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied

from bulwark.audits import kept_facts
from bulwark.inventory.access import is_unrestricted
from bulwark.inventory.models import Host
from bulwark.policies.services import load_sources
from workers.preview import CheckPreview, PreviewStatus
from workers.preview import preview as preview_on_facts


@dataclass
class HostPreview:
    """One host's verdicts; `kept` False when no facts were kept for it (never audited since,
    or over the cap)."""

    host_id: int
    name: str
    kept: bool
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[CheckPreview] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host_id,
            "name": self.name,
            "facts_kept": self.kept,
            "counts": self.counts,
            "checks": [
                {
                    "policy_id": c.policy_id,
                    "check_id": c.check_id,
                    "status": c.status.value,
                    "reason": c.reason,
                }
                for c in self.checks
            ],
        }


def preview_sources(
    user: Any, sources: Sequence[tuple[str, str]], *, group_id: int | None = None
) -> list[HostPreview]:
    """Validate the (name, YAML) files (PolicyRefused lists every problem) and evaluate them on
    every host's (or the group's hosts') latest kept facts."""
    if not is_unrestricted(user):
        raise PermissionDenied("policy previews read every host's facts: superusers only")
    definitions = [loaded.definition for loaded in load_sources(sources)]
    hosts = Host.objects.order_by("name")
    if group_id is not None:
        hosts = hosts.filter(group_id=group_id)
    rows = list(hosts.values_list("pk", "name"))
    facts = kept_facts.latest_for([pk for pk, _ in rows])
    previews = []
    for pk, name in rows:
        kept = facts.get(pk)
        if kept is None:
            previews.append(HostPreview(pk, name, False))
            continue
        checks = preview_on_facts(definitions, kept)
        counts = Counter(c.status.value for c in checks)
        previews.append(
            HostPreview(
                pk, name, True, {s.value: counts.get(s.value, 0) for s in PreviewStatus}, checks
            )
        )
    return previews
