"""Policy and Check: the catalogue. A policy keeps its YAML source, which audits run."""

from __future__ import annotations

from django.db import models


class Policy(models.Model):
    """One policy file, as synced from rulesets/ or imported by a user."""

    class Origin(models.TextChoices):
        BUNDLED = "bundled", "bundled (rulesets/)"
        IMPORTED = "imported", "imported"

    policy_id = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    path = models.CharField(max_length=500, help_text="where it was loaded from")
    origin = models.CharField(max_length=10, choices=Origin.choices)
    dialect = models.CharField(max_length=10)
    source = models.TextField(help_text="the YAML text audits run")
    sha256 = models.CharField(max_length=64)
    references = models.JSONField(default=list, blank=True)
    requirements = models.CharField(max_length=300, blank=True)
    enabled = models.BooleanField(default=True)
    check_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["policy_id"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.policy_id


class Check(models.Model):
    """One check of a policy. Never deleted while results point at it: retired instead."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="checks")
    check_id = models.CharField(max_length=100)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    rationale = models.TextField(blank=True)
    remediation = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    references = models.JSONField(default=list, blank=True)
    compliance = models.JSONField(default=dict, blank=True)
    mitre = models.JSONField(default=dict, blank=True)
    category = models.CharField(max_length=200, db_index=True)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    # CIS profiles (server, workstation) the check belongs to: a list of names, or name -> the
    # check's level in that profile (`profile: {server: 1, workstation: 2}`); empty: every one.
    # A database default too: rows written by raw SQL (COPY in bench/) need no value.
    profiles = models.JSONField(default=list, blank=True, db_default=models.Value("[]"))
    condition = models.CharField(max_length=10)
    rules = models.JSONField(default=list, blank=True)
    line = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True, help_text="false: no longer in the policy file")

    class Meta:
        ordering = ["policy", "id"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "check_id"], name="check_id_per_policy")
        ]

    def __str__(self) -> str:
        return f"{self.check_id} {self.title}"
