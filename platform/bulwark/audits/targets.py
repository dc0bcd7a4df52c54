"""Targeting models: which policies, levels and profile apply to a host (Assignment), and the
one policy-level verdict an audit keeps per policy it considered (PolicyVerdict)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bulwark.inventory.models import Group, Host
from bulwark.policies.models import Check, Policy


def _all_levels() -> list[int]:
    return [1, 2]


class Assignment(models.Model):
    """A policy applies to a group's hosts (or to one host) with these levels and profile.

    With neither group nor host it is a default: it applies to groups that have no assignment
    of their own (superusers set those). With no assignment anywhere, every enabled policy
    applies at every level (requirements still decide)."""

    class Profile(models.TextChoices):
        SERVER = "server", "server"
        WORKSTATION = "workstation", "workstation"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="assignments")
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    host = models.ForeignKey(
        Host, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    levels = models.JSONField(default=_all_levels, help_text="[1] or [1, 2]")
    profile = models.CharField(max_length=12, choices=Profile.choices, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(host__isnull=True) | Q(group__isnull=True),
                name="assignment_host_or_group",
            ),
            models.UniqueConstraint(
                fields=["policy", "group"],
                condition=Q(host__isnull=True, group__isnull=False),
                name="one_assignment_per_group_policy",
            ),
            models.UniqueConstraint(
                fields=["policy", "host"],
                condition=Q(host__isnull=False),
                name="one_assignment_per_host_policy",
            ),
            models.UniqueConstraint(
                fields=["policy"],
                condition=Q(host__isnull=True, group__isnull=True),
                name="one_default_per_policy",
            ),
        ]

    def __str__(self) -> str:
        target = (
            f"host {self.host}"
            if self.host_id
            else f"group {self.group}"
            if self.group_id
            else "default"
        )
        return f"{self.policy} on {target}: level {'+'.join(map(str, self.levels))}"

    def clean(self) -> None:
        if self.host_id is not None and self.group_id is not None:
            raise ValidationError("an assignment is for one host or one group, not both")
        levels = self.levels
        if not isinstance(levels, list) or sorted(levels) not in ([1], [1, 2], [2]):
            raise ValidationError({"levels": "levels must be [1], [2] or [1, 2]"})
        self.levels = sorted(levels)
        if self.profile and self.policy_id is not None:
            profiles = Check.objects.filter(policy_id=self.policy_id, active=True).values_list(
                "profiles", flat=True
            )
            known = {name for names in profiles for name in names or ()}
            if self.profile not in known:
                raise ValidationError(
                    {"profile": f"policy {self.policy} has no {self.profile} profile"}
                )


class PolicyVerdict(models.Model):
    """One policy in one audit: applicable (its checks are Results) or not, with the reason
    ("requirements not met: ...", "platform: ..."), and the levels and profile it ran with."""

    class Status(models.TextChoices):
        APPLICABLE = "applicable", "applicable"
        NOT_APPLICABLE = "not_applicable", "not applicable"

    audit = models.ForeignKey(
        "audits.Audit", on_delete=models.CASCADE, related_name="policy_verdicts"
    )
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="verdicts")
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.TextField(blank=True)
    levels = models.JSONField(default=_all_levels)
    profile = models.CharField(max_length=12, blank=True)

    class Meta:
        ordering = ["audit", "policy"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "policy"], name="one_verdict_per_policy")
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.get_status_display()}"
