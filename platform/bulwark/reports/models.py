"""Aggregates kept up to date as audits are stored, so reports never scan all history; and
the tokens Prometheus scrapes /metrics with."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models

from bulwark.audits.models import Audit
from bulwark.inventory.models import Group, Host
from bulwark.policies.models import Check


class DailyHostSummary(models.Model):
    """A host's last audit of one day: its history at day granularity (P17)."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # The group the host was in that day: the history stays where it was recorded.
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="+")
    passed = models.PositiveIntegerField()
    failed = models.PositiveIntegerField()
    not_applicable = models.PositiveIntegerField()
    score = models.FloatField(null=True, blank=True)
    # Failed checks an exception covers, and the score as if none existed: shown beside the
    # score in every report, so no risk is hidden.
    excepted = models.PositiveIntegerField(default=0, db_default=0)
    raw_score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["host", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["host", "day"], name="one_summary_per_host_day")
        ]
        indexes = [models.Index(fields=["day", "host"])]


class DailyGroupSummary(models.Model):
    """Sums of the DailyHostSummary rows of one group and day: the evolution report (P18)
    and scoring by date read this, a few rows per day whatever the fleet's size."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    hosts = models.PositiveIntegerField(default=0)
    passed = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    not_applicable = models.BigIntegerField(default=0)
    scored_hosts = models.PositiveIntegerField(default=0)
    score_sum = models.FloatField(default=0.0)
    excepted = models.BigIntegerField(default=0, db_default=0)
    raw_scored_hosts = models.PositiveIntegerField(default=0, db_default=0)
    raw_score_sum = models.FloatField(default=0.0, db_default=0.0)

    class Meta:
        ordering = ["day", "group"]
        constraints = [
            models.UniqueConstraint(fields=["group", "day"], name="one_summary_per_group_day")
        ]
        indexes = [models.Index(fields=["day", "group"])]


class LatestCheckCount(models.Model):
    """How many hosts of `group` whose latest audit finished on `day` passed, failed or could
    not apply `policy_check`. Summed over a day range it answers P10, P13, P14 and P15 from a
    few thousand rows instead of every result of every latest audit."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    policy_check = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=200)  # the check's, copied: grouped on directly
    passed = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    not_applicable = models.IntegerField(default=0)
    excepted = models.IntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["day", "group", "policy_check"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "day", "policy_check"], name="one_count_per_group_day_check"
            )
        ]
        indexes = [models.Index(fields=["day", "group"])]


class LatestCheckTotal(models.Model):
    """LatestCheckCount summed over its days: how many hosts of `group` passed, failed, could
    not apply or had an exception for `policy_check` in their latest audit, whatever its day.

    A range holding most hosts' latest audits (the dashboard's, to today) is read as these
    totals less the counter rows of the days outside it (reports/queries.py `_sums_to_date`):
    a row per group and check, then the few rows of hosts last audited outside the range,
    instead of a row per group, check and day. At 10,000 hosts in 200 groups audited over a
    week's 7 days that is 60,000 rows instead of 420,000 (docs/history.md). Kept with the
    counters, in the same statements (reports/aggregates.py, reports/rescored.py): whatever
    writes the counters, a migration that recounts them included, writes these too."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    # No copy of the check's category: read from the check, it is the one the check has now.
    policy_check = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="+")
    passed = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    not_applicable = models.IntegerField(default=0)
    excepted = models.IntegerField(default=0)

    class Meta:
        ordering = ["group", "policy_check"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "policy_check"], name="one_total_per_group_check"
            )
        ]


class CountedAudit(models.Model):
    """Which audit of a host LatestCheckCount holds, under which group and day: what to take
    back out when the host is audited again, moves group or is deleted."""

    host = models.OneToOneField(Host, on_delete=models.CASCADE, primary_key=True, related_name="+")
    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class MetricsToken(models.Model):
    """A bearer token for /metrics that scrapes as its user: that user's groups only. Only the
    SHA-256 of the token is stored; `manage.py metrics_token` prints the token once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="metrics_tokens"
    )
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
