"""The seven reports (P12-P18) as documents: title, filters, columns, rows, chart, summary.

One document feeds the PDF, the JSON and the CSV, so the three always carry the same numbers.
Values are what a reader sees: host scores with 2 decimals, category shares as whole percents.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulwark.policies.models import Check
from bulwark.reports import queries
from bulwark.reports.parameters import FilterError, Filters


@dataclass(frozen=True)
class Chart:
    """What to draw: a bar, pie or line chart of named series over labels."""

    kind: str  # "bar", "pie" or "line"
    labels: list[str]
    series: dict[str, list[float]]


@dataclass(frozen=True)
class Report:
    """One report, ready to render in any format."""

    kind: str
    title: str
    generated_at: dt.datetime
    filters: list[tuple[str, str]]
    columns: list[str]
    rows: list[list[Any]]
    chart: Chart | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "title": self.title,
            "generated_at": self.generated_at.isoformat(),
            "filters": dict(self.filters),
            "columns": self.columns,
            "rows": self.rows,
            "summary": self.summary,
        }


def percent(score: float | None) -> int | None:
    """A category share as Pandora shows it: whole percent, halves up (14/60 -> 23)."""
    return None if score is None else math.floor(score + 0.5)


def when(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _host_rows(hosts: list[queries.HostScore]) -> list[list[Any]]:
    # The raw score and the excepted count beside the score: accepted risk is never hidden.
    return [
        [
            h.name,
            h.group,
            when(h.last_audit_at),
            h.score,
            h.raw_score,
            h.passed,
            h.failed,
            h.excepted,
            h.not_applicable,
        ]
        for h in hosts
    ]


_HOST_COLUMNS = [
    "host",
    "group",
    "last audit",
    "score",
    "raw score",
    "passed",
    "failed",
    "excepted",
    "not applicable",
]


def _raw_summary(hosts: list[queries.HostScore]) -> dict[str, Any]:
    raw = [h.raw_score for h in hosts if h.raw_score is not None]
    return {
        "average raw score": round(sum(raw) / len(raw), 2) if raw else None,
        "excepted": sum(h.excepted for h in hosts),
    }


def worst_hosts(user: Any, f: Filters) -> Report:
    hosts = queries.worst_hosts(user, f)
    return _report(
        "worst-hosts",
        _("Top %(limit)s hosts with the worst score") % {"limit": f.limit},
        f,
        _HOST_COLUMNS,
        _host_rows(hosts),
        Chart(
            "bar",
            [h.name for h in hosts],
            {
                "score": [h.score or 0.0 for h in hosts],
                "raw score": [h.raw_score or 0.0 for h in hosts],
            },
        ),
        _raw_summary(hosts),
    )


def failed_checks(user: Any, f: Filters) -> Report:
    checks = queries.most_failed_checks(user, f)
    title = _("Top %(limit)s most frequently failed checks") % {"limit": f.limit}
    if f.category:
        title = _("Top %(limit)s most frequently failed checks in %(category)s") % {
            "limit": f.limit,
            "category": f.category,
        }
    return _report(
        "failed-checks",
        title,
        f,
        ["check", "title", "hosts failing", "hosts excepted", "category", "description"],
        [[c.check_id, c.title, c.hosts, c.excepted, c.category, c.description] for c in checks],
        Chart(
            "bar",
            [c.check_id for c in checks],
            {
                "hosts failing": [c.hosts for c in checks],
                "hosts excepted": [c.excepted for c in checks],
            },
        ),
        {"hosts excepted": sum(c.excepted for c in checks)},
    )


def category(user: Any, f: Filters) -> Report:
    if not f.category:
        raise FilterError(_("category: this report needs a category"))
    if not Check.objects.filter(category=f.category).exists():
        raise FilterError(_("category: no such category %(name)r") % {"name": f.category[:80]})
    counts = queries.category_results(user, f)
    shown = [("passed", counts.passed), ("failed", counts.failed)]
    if f.include_na:
        shown.append(("not applicable", counts.not_applicable))
    total = sum(value for _, value in shown)
    rows = [
        [label, value, percent(value * 100 / total) if total else None] for label, value in shown
    ]
    return _report(
        "category",
        _("Results of category %(category)s") % {"category": f.category},
        f,
        ["status", "results", "share %"],
        rows,
        Chart("pie", [r[0] for r in rows], {"results": [r[1] for r in rows]}),
        {"score %": percent(counts.score), "passed": counts.passed, "failed": counts.failed},
    )


def categories(user: Any, f: Filters) -> Report:
    found = queries.categories(user, f)[: f.limit]
    return _report(
        "categories",
        _("Top %(limit)s categories by failed checks") % {"limit": f.limit},
        f,
        ["category", "failed", "passed", "not applicable", "score %"],
        [[c.category, c.failed, c.passed, c.not_applicable, percent(c.score)] for c in found],
        Chart("bar", [c.category for c in found], {"failed": [c.failed for c in found]}),
    )


def host_checks(user: Any, f: Filters) -> Report:
    if not f.host_id:
        raise FilterError(_("host: this report needs a host"))
    results = queries.host_checks(user, f)
    statuses = ("passed", "failed", "excepted")
    counts = {s: sum(1 for r in results if r.status == s) for s in statuses}
    na = len(results) - sum(counts.values())
    # Excepted (accepted failures) are shown apart: neither failed nor hidden.
    return _report(
        "host-checks",
        _("Security checks of a host"),
        f,
        ["check", "title", "category", "status"],
        [[r.check_id, r.title, r.category, r.status.replace("_", " ")] for r in results],
        Chart("pie", [*statuses, "not applicable"], {"checks": [*counts.values(), na]}),
        {**counts, "not applicable": na},
    )


# The scoring report lists hosts in pages of this many (`page`, from 1), in every format: a
# whole fleet in one PDF (10,000 hosts, ~200 pages) takes seconds to draw; a page of 250 hosts
# (~6 PDF pages) is drawn in well under 200 ms. The summary covers every host of the range.
SCORING_PAGE = 250


def scoring(user: Any, f: Filters) -> Report:
    hosts = queries.scoring(user, f)
    scores = [h.score for h in hosts if h.score is not None]
    pages = max(1, math.ceil(len(hosts) / SCORING_PAGE))
    if f.page > pages:
        raise FilterError(_("page: out of range (the report has %(pages)s)") % {"pages": pages})
    first = (f.page - 1) * SCORING_PAGE
    shown = hosts[first : first + SCORING_PAGE]
    title = _("Scoring: the latest score of each host")
    summary: dict[str, Any] = {
        "hosts": len(hosts),
        "average score": round(sum(scores) / len(scores), 2) if scores else None,
        **_raw_summary(hosts),
    }
    if pages > 1:
        last = first + len(shown)
        title += _(", hosts %(first)s-%(last)s of %(total)s (page %(page)s of %(pages)s)") % {
            "first": first + 1,
            "last": last,
            "total": len(hosts),
            "page": f.page,
            "pages": pages,
        }
        summary |= {"page": f.page, "pages": pages, "hosts per page": SCORING_PAGE}
    page_scores = [h.score for h in shown if h.score is not None]
    return _report(
        "scoring",
        title,
        f,
        _HOST_COLUMNS,
        _host_rows(shown),
        Chart("bar", [h.name for h in shown][:60], {"score": page_scores[:60]}),
        summary,
    )


def evolution(user: Any, f: Filters) -> Report:
    points = queries.evolution(user, f)
    return _report(
        "evolution",
        _("Evolution: passed and failed checks, averaged per day"),
        f,
        [
            "day",
            "hosts audited",
            "passed",
            "failed",
            "excepted",
            "not applicable",
            "score",
            "raw score",
        ],
        [
            [
                p.day.isoformat(),
                p.hosts,
                p.passed,
                p.failed,
                p.excepted,
                p.not_applicable,
                p.score,
                p.raw_score,
            ]
            for p in points
        ],
        Chart(
            "line",
            [p.day.isoformat() for p in points],
            {
                "passed": [p.passed for p in points],
                "failed": [p.failed for p in points],
                "excepted": [p.excepted for p in points],
            },
        ),
    )


def _report(
    kind: str,
    title: str,
    f: Filters,
    columns: list[str],
    rows: list[list[Any]],
    chart: Chart | None,
    summary: dict[str, Any] | None = None,
) -> Report:
    return Report(kind, title, timezone.now(), f.describe(), columns, rows, chart, summary or {})


BUILDERS: dict[str, Callable[[Any, Filters], Report]] = {
    "worst-hosts": worst_hosts,  # P12
    "failed-checks": failed_checks,  # P13
    "category": category,  # P14
    "categories": categories,  # P15
    "host-checks": host_checks,  # P16
    "scoring": scoring,  # P17
    "evolution": evolution,  # P18
}

TITLES = {
    "worst-hosts": gettext_lazy("Top N hosts with the worst score"),
    "failed-checks": gettext_lazy("Top N most frequently failed checks"),
    "category": gettext_lazy("Results of one category"),
    "categories": gettext_lazy("Categories ranked by failures"),
    "host-checks": gettext_lazy("Security checks of a host"),
    "scoring": gettext_lazy("Scoring: latest score of each host"),
    "evolution": gettext_lazy("Evolution: passed and failed per day"),
}


def build(kind: str, user: Any, f: Filters) -> Report:
    """The report `kind` for the user and filters; KeyError for an unknown kind."""
    return BUILDERS[kind](user, f)
