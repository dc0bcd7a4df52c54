"""Template filters for scores and statuses."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from bulwark.audits.alerts import describe
from bulwark.audits.reasons import translated
from bulwark.reports.documents import percent

register = template.Library()


@register.filter
def score(value: float | None) -> str:
    """A host score as shown everywhere: two decimals (83.33), a dash when there is none."""
    return "–" if value is None else f"{value:.2f}"


@register.filter
def pct(value: float | None) -> str:
    """A category share: whole percent (23 %)."""
    shown = percent(value)
    return "–" if shown is None else f"{shown} %"


# A result's status and a rule's evidence verdict (workers.engine.patterns.Result, lower case)
# as shown on the pages, in the active language.
LABELS = {
    "passed": _("passed"),
    "failed": _("failed"),
    "not_applicable": _("not applicable"),
    "excepted": _("excepted"),
    "found": _("found"),
    "not_found": _("not found"),
    "invalid": _("invalid"),
    "not_run": _("not run"),
}


@register.filter
def status_label(value: str) -> str:
    label = LABELS.get(str(value))
    return str(label) if label is not None else str(value).replace("_", " ")


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def reason(text: str) -> str:
    """A stored audit error in the active language (audits.reasons.translated)."""
    return translated(text or "")


@register.filter
def alert_text(alert: Any) -> str:
    """An alert in the active language (audits.alerts.describe)."""
    return describe(alert)
