"""Template filters for scores and statuses."""

from __future__ import annotations

from typing import Any

from django import template

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


@register.filter
def status_label(value: str) -> str:
    return str(value).replace("_", " ")


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)
