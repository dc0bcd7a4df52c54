"""Exceptions (accepted risks) and their append-only trail.

An exception accepts the failure of one check on one host, one group, or every host. While it
is active and not past its expiry, a failed result of that check on a covered host is
"excepted": out of the score, counted apart, never hidden from the raw score.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from bulwark.inventory.models import Group, Host
from bulwark.policies.models import Check


class RiskException(models.Model):
    """One accepted failure: policy id + check id on a scope, until `expires_at` (inclusive)."""

    class Status(models.TextChoices):
        PENDING = "pending", "awaiting approval"
        ACTIVE = "active", "active"
        REVOKED = "revoked", "revoked"
        EXPIRED = "expired", "expired"

    policy_id = models.CharField(max_length=200)
    check_id = models.CharField(max_length=100)
    policy_check = models.ForeignKey(
        Check, on_delete=models.PROTECT, related_name="exceptions", editable=False
    )
    host = models.ForeignKey(
        Host, null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions"
    )
    justification = models.TextField()
    owner = models.CharField(max_length=200)
    reference = models.CharField(max_length=500, blank=True, help_text="ticket URL or id")
    expires_at = models.DateField(help_text="the last day it applies")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The 14-day warning went out (once per exception).
    warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(host__isnull=True) | models.Q(group__isnull=True),
                name="exception_host_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}/{self.check_id} on {self.scope_label} until {self.expires_at}"

    @property
    def scope_label(self) -> str:
        if self.host_id:
            return f"host {self.host}"
        return f"group {self.group}" if self.group_id else "every host"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.host_id is not None and self.group_id is not None:
            errors["host"] = "an exception is for one host, one group, or every host"
        for name in ("justification", "owner"):
            if not (getattr(self, name) or "").strip():
                errors[name] = f"{name} is required"
        check = Check.objects.filter(
            policy__policy_id=self.policy_id, check_id=self.check_id
        ).first()
        if check is None:
            errors["check_id"] = f"no check {self.check_id!r} in policy {self.policy_id!r}"
        else:
            self.policy_check = check
        if self.pk is None and isinstance(self.expires_at, dt.date):
            today = timezone.localdate()
            latest = today + dt.timedelta(days=int(settings.EXCEPTION_MAX_DAYS))
            if self.expires_at < today:
                errors["expires_at"] = "the expiry is in the past"
            elif self.expires_at > latest:
                errors["expires_at"] = (
                    f"at most EXCEPTION_MAX_DAYS={settings.EXCEPTION_MAX_DAYS} days ahead "
                    f"({latest.isoformat()})"
                )
        if errors:
            raise ValidationError(errors)


class ExceptionEvent(models.Model):
    """One change of an exception: created, approved, revoked, expired. Never changed or
    deleted (the admin and the API only read these)."""

    class Action(models.TextChoices):
        CREATED = "created", "created"
        APPROVED = "approved", "approved"
        REVOKED = "revoked", "revoked"
        EXPIRED = "expired", "expired"
        WARNED = "warned", "expiry warning"

    exception = models.ForeignKey(RiskException, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["exception", "at", "id"]

    def __str__(self) -> str:
        return f"{self.exception_id} {self.action} at {self.at:%Y-%m-%d %H:%M}"
