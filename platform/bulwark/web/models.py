"""Dashboard widgets (P19): each user's own, with what they show and for which group/range."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bulwark.inventory.models import Group


class Widget(models.Model):
    """One widget on one user's dashboard."""

    class DataType(models.TextChoices):
        EVOLUTION = "evolution", _("evolution (passed and failed per day)")
        SCORING = "scoring", _("scoring by date")
        WORST_HOSTS = "worst_hosts", _("top-N hosts with the worst score")
        CATEGORY_CHECKS = "category_checks", _("top-N checks failed in a category")
        FAILED_CHECKS = "failed_checks", _("top-N most frequently failed checks")
        CATEGORIES = "categories", _("failures by category")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bulwark_widgets"
    )
    title = models.CharField(max_length=100, verbose_name=_("title"))
    background = models.CharField(
        verbose_name=_("background"),
        max_length=7,
        default="#ffffff",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("a colour like #1a2b3c"))],
    )
    data_type = models.CharField(
        max_length=20, choices=DataType.choices, verbose_name=_("data type")
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("empty: all groups"),
        verbose_name=_("group"),
    )
    days = models.PositiveSmallIntegerField(
        verbose_name=_("days"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3660)],
        help_text=_("the last N days, up to today"),
    )
    limit = models.PositiveSmallIntegerField(
        verbose_name=_("N (rows)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_("N"),
    )
    category = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("for checks in a category"),
        verbose_name=_("category"),
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "position", "id"]

    def __str__(self) -> str:
        return self.title


class Preference(models.Model):
    """A user's own language and time zone for the pages and reports (empty: the browser's
    language, the server's TIME_ZONE)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bulwark_preference"
    )
    language = models.CharField(
        verbose_name=_("language"),
        max_length=8,
        blank=True,
        choices=[("en", "English"), ("ja", "日本語")],
        help_text=_("empty: the browser's language"),
    )
    time_zone = models.CharField(
        verbose_name=_("time zone"),
        max_length=64,
        blank=True,
        help_text=_("e.g. Asia/Tokyo; empty: the server's TIME_ZONE"),
    )

    def clean(self) -> None:
        from zoneinfo import available_timezones

        from django.core.exceptions import ValidationError

        if self.time_zone and self.time_zone not in available_timezones():
            raise ValidationError(
                {"time_zone": _("unknown time zone %(name)r") % {"name": self.time_zone[:64]}}
            )
