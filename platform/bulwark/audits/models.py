"""Audits and what they produce: results, category summaries, score history, alerts, schedules."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bulwark.inventory.models import Group, Host, HostState
from bulwark.policies.models import Check


class AuditStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    ERROR = "error", _("error")


ACTIVE = (AuditStatus.QUEUED, AuditStatus.RUNNING)


class Audit(models.Model):
    """One run of the enabled policies against one host. `attempts` counts claims and fences
    the writes of a worker whose lease was taken over."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("audit now")
        SCHEDULE = "schedule", _("schedule")
        COMMAND = "command", _("command line")
        API = "api", _("API")

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="audits")
    status = models.CharField(
        max_length=10, choices=AuditStatus.choices, default=AuditStatus.QUEUED
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    command_timeout = models.FloatField(default=150.0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_expires = models.DateTimeField(null=True, blank=True)
    # When the audit was last handed to the broker (or, for a retry, is due): the reaper
    # enqueues again a queued audit not claimed within AUDIT_REQUEUE_AFTER of it.
    enqueued_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_reason = models.TextField(blank=True)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    not_applicable = models.PositiveIntegerField(default=0)
    # Failed checks covered by an active exception: out of `score`, in `raw_score`.
    excepted = models.PositiveIntegerField(default=0, db_default=0)
    score = models.FloatField(null=True, blank=True)
    raw_score = models.FloatField(null=True, blank=True, help_text=_("as if no exception existed"))
    host_facts = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text=_("collection and evaluation"))
    # The host's latest finished audit: what dashboards and reports read.
    latest = models.BooleanField(default=False)
    # Its per-check results were purged (RESULTS_RETENTION_DAYS); counts, score and categories stay.
    results_purged_at = models.DateTimeField(null=True, blank=True)
    # Position in the host's chain of stored results (1, 2, ...: the order audits were stored)
    # and whether this audit keeps only its differences from the next one (audits/history.py).
    stored_seq = models.PositiveIntegerField(null=True, blank=True)
    results_reduced = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["host", "-created_at"]),
            models.Index(fields=["host", "stored_seq"], name="audit_host_chain"),
            models.Index(fields=["status", "lease_expires"]),
        ]
        constraints = [
            # At most one queued or running audit per host: "audit now" twice is one audit.
            models.UniqueConstraint(
                fields=["host"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_audit_per_host",
            ),
            models.UniqueConstraint(
                fields=["host"], condition=Q(latest=True), name="one_latest_audit_per_host"
            ),
        ]

    def __str__(self) -> str:
        return f"audit {self.pk} of {self.host_id} ({self.status})"


class Result(models.Model):
    """One check's outcome in one audit."""

    class Status(models.TextChoices):
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")
        NOT_APPLICABLE = "not_applicable", _("not applicable")
        EXCEPTED = "excepted", _("excepted")

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="results")
    # Not `check`: that name is Django's Model.check().
    policy_check = models.ForeignKey(Check, on_delete=models.PROTECT, related_name="results")
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.TextField(blank=True)
    evidence = models.JSONField(default=list, blank=True)
    # The exception that makes a failed result "excepted".
    exception = models.ForeignKey(
        "audits.RiskException",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="results",
    )

    class Meta:
        ordering = ["audit", "id"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "policy_check"], name="one_result_per_check")
        ]
        indexes = [
            models.Index(fields=["policy_check", "status"]),
            # Keyset pages of one audit's results (the audit page, /api/results/?audit=).
            models.Index(fields=["audit", "id"], name="result_audit_keyset"),
            # Re-scoring starts from the excepted results of latest audits: a small index.
            models.Index(fields=["audit"], condition=Q(status="excepted"), name="result_excepted"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_check_id}: {self.status}"


class CategorySummary(models.Model):
    """Passed, failed and not applicable per CIS Controls category, for one audit."""

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="categories")
    category = models.CharField(max_length=200)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    not_applicable = models.PositiveIntegerField(default=0)
    excepted = models.PositiveIntegerField(default=0, db_default=0)
    score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["audit", "-failed", "category"]
        verbose_name_plural = "category summaries"
        constraints = [
            models.UniqueConstraint(fields=["audit", "category"], name="one_summary_per_category")
        ]

    def __str__(self) -> str:
        return self.category


class ScoreSample(models.Model):
    """The hardening values of a host at one audit: its history (P6, P7). An audit has one
    sample when stored, and one more each time it is re-scored (`rescored` says why)."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="score_samples")
    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="score_samples")
    time = models.DateTimeField()
    failed = models.PositiveIntegerField()
    not_applicable = models.PositiveIntegerField()
    passed = models.PositiveIntegerField()
    excepted = models.PositiveIntegerField(default=0, db_default=0)
    score = models.FloatField(null=True, blank=True)
    raw_score = models.FloatField(null=True, blank=True)
    rescored = models.CharField(
        max_length=300, blank=True, default="", db_default="", help_text=_("why it was re-scored")
    )

    class Meta:
        ordering = ["host", "-time"]
        indexes = [models.Index(fields=["host", "-time"]), models.Index(fields=["time"])]

    def __str__(self) -> str:
        return f"{self.host_id} at {self.time:%Y-%m-%d %H:%M}: {self.score}"


class AlertEvent(models.Model):
    """A change worth telling someone: a worse state, a regressed check, a changed host key."""

    class Kind(models.TextChoices):
        STATE = "state", _("score state worsened")
        REGRESSION = "regression", _("checks went from passed to failed")
        HOST_KEY = "host_key", _("host key changed")
        EXCEPTION_EXPIRED = "exc_expired", _("exception expired")
        EXCEPTION_EXPIRING = "exc_expiring", _("exception expires soon")
        AUDIT_FAILED = "audit_failed", _("audit failed")

    class Severity(models.TextChoices):
        WARNING = "warning", _("warning")
        CRITICAL = "critical", _("critical")

    host = models.ForeignKey(
        Host, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("host")
    )
    audit = models.ForeignKey(
        Audit, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=_("kind"))
    severity = models.CharField(max_length=10, choices=Severity.choices, verbose_name=_("severity"))
    previous_state = models.CharField(max_length=10, choices=HostState.choices, blank=True)
    state = models.CharField(max_length=10, choices=HostState.choices, blank=True)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    # Same key, same change: a host key that stays changed alerts once.
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["host", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


def _default_interval() -> int:
    return int(settings.AUDIT_INTERVAL_DAYS)


def _default_timeout() -> float:
    return float(settings.AUDIT_COMMAND_TIMEOUT)


class Schedule(models.Model):
    """Periodic audits of one host or of every host of a group (a django-celery-beat task)."""

    host = models.ForeignKey(
        Host,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="schedules",
        verbose_name=_("host"),
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="schedules",
        verbose_name=_("group"),
    )
    interval_days = models.PositiveSmallIntegerField(
        verbose_name=_("interval (days)"),
        default=_default_interval,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
    )
    command_timeout = models.FloatField(
        verbose_name=_("command timeout (s)"),
        default=_default_timeout,
        validators=[MinValueValidator(1.0), MaxValueValidator(3600.0)],
        help_text=_("seconds per command"),
    )
    spread_minutes = models.PositiveIntegerField(
        verbose_name=_("spread (minutes)"),
        default=0,
        help_text=_("start the hosts' audits over this many minutes, not all at once"),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(host__isnull=True, group__isnull=False)
                | Q(host__isnull=False, group__isnull=True),
                name="schedule_host_xor_group",
            )
        ]

    def __str__(self) -> str:
        target = f"host {self.host}" if self.host_id else f"group {self.group}"
        return f"{target} every {self.interval_days} days"

    def clean(self) -> None:
        if (self.host_id is None) == (self.group_id is None):
            raise ValidationError(_("a schedule is for one host or one group, not both or neither"))
        from bulwark.audits.fairness import max_spread_minutes

        if self.spread_minutes and self.spread_minutes > max_spread_minutes():
            raise ValidationError(
                {
                    "spread_minutes": _(
                        "at most %(minutes)s minutes: the broker redelivers a task held longer "
                        "than CELERY_VISIBILITY_TIMEOUT (raise it to spread further)"
                    )
                    % {"minutes": max_spread_minutes()}
                }
            )

    def save(self, *args: object, **kwargs: object) -> None:
        from bulwark.audits.schedules import sync_periodic_task

        super().save(*args, **kwargs)  # type: ignore[arg-type]
        # Every way of saving a schedule (admin, API, shell) keeps its beat task in step.
        sync_periodic_task(self)


class ScheduleRun(models.Model):
    """One firing of a schedule for one period: the unique key that makes a schedule start its
    audits once per period, however many beats fire it or however often beat restarts."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    # Periods since the schedule was created, rounded to the nearest (schedules.period_of).
    period = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    audits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["schedule", "-period"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "period"], name="one_run_per_period")
        ]

    def __str__(self) -> str:
        return f"schedule {self.schedule_id} period {self.period}"


class WorkerHeartbeat(models.Model):
    """A Celery worker as it last reported itself (audits/heartbeats.py): the zones it serves,
    its concurrency and the audits it was running. Kept after it stops: "last seen"."""

    hostname = models.CharField(max_length=255, unique=True)
    zones = models.JSONField(default=list)
    concurrency = models.PositiveIntegerField(default=0)
    running = models.PositiveIntegerField(default=0, help_text=_("audits running at last report"))
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return f"{self.hostname} ({', '.join(self.zones)})"


# Models kept in their own modules, imported here so Django registers them with the app.
from bulwark.audits.kept_facts import KeptFacts  # noqa: E402, F401
from bulwark.audits.risks import ExceptionEvent, RiskException  # noqa: E402, F401
from bulwark.audits.targets import Assignment, PolicyVerdict  # noqa: E402, F401
