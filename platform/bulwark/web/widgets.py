"""What a dashboard widget shows: its data from the report queries, drawn as SVG or a table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from bulwark.reports import queries
from bulwark.reports.documents import percent
from bulwark.reports.parameters import Filters
from bulwark.web import charts
from bulwark.web.models import Widget


@dataclass
class WidgetView:
    """A widget with its chart and table rows, ready for the template."""

    widget: Widget
    chart: SafeString | str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def filters_of(widget: Widget) -> Filters:
    today = timezone.localdate()
    return Filters(
        start_day=today - dt.timedelta(days=widget.days - 1),
        end_day=today,
        group_id=widget.group_id,
        limit=widget.limit,
        category=widget.category if widget.data_type == Widget.DataType.CATEGORY_CHECKS else "",
    )


def render(widget: Widget, user: Any) -> WidgetView:
    """The widget's data for `user` (scoped: a group the user lost shows nothing)."""
    f = filters_of(widget)
    kind = widget.data_type
    view = WidgetView(widget)
    if kind in (Widget.DataType.EVOLUTION, Widget.DataType.SCORING):
        points = queries.evolution(user, f)
        labels = [p.day.isoformat() for p in points]
        # Accepted risk shows beside the numbers it lowers: excepted checks, the raw score.
        if kind == Widget.DataType.EVOLUTION:
            series = {
                "passed": [p.passed for p in points],
                "failed": [p.failed for p in points],
                "excepted": [p.excepted for p in points],
            }
            view.chart = charts.line_chart(labels, series, height=160)
        else:
            series = {
                "score": [p.score for p in points],
                "raw score": [p.raw_score for p in points],
            }
            view.chart = charts.line_chart(labels, series, height=160, top=100)
    elif kind == Widget.DataType.WORST_HOSTS:
        hosts = queries.worst_hosts(user, f)
        view.chart = charts.bar_chart(
            [h.name for h in hosts], [h.score or 0 for h in hosts], top=100
        )
        view.columns = [_("host"), _("score"), _("raw score"), _("excepted")]
        view.rows = [[h.name, h.score, h.raw_score, h.excepted] for h in hosts]
    elif kind in (Widget.DataType.FAILED_CHECKS, Widget.DataType.CATEGORY_CHECKS):
        checks = queries.most_failed_checks(user, f)
        view.columns = [_("check"), _("title"), _("hosts failing"), _("hosts excepted")]
        view.rows = [[c.check_id, c.title, c.hosts, c.excepted] for c in checks]
    elif kind == Widget.DataType.CATEGORIES:
        found = queries.categories(user, f)[: f.limit]
        view.columns = [_("category"), _("failed"), _("score %")]
        view.rows = [[c.category, c.failed, percent(c.score)] for c in found]
    return view
