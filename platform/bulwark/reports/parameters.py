"""What every report query is asked for: a group (or all), a day range, and a few options.

Parsed once from a request's query string, validated against what the user may see, and
printed on every report so a reader knows what it covers. The dashboard, the host pages and
the reports API all read their filters here. Days are named as everywhere else
(docs/filters.md): `date_after` and `date_before`, both inclusive, with `from` and `to`
accepted as their older names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from bulwark.inventory.access import scope
from bulwark.inventory.models import Group, Host

DEFAULT_DAYS = 30
MAX_LIMIT = 1000
STATUSES = ("passed", "failed", "not_applicable", "excepted")


class FilterError(ValueError):
    """A query-string value that cannot be used (the message says which and why)."""


@dataclass(frozen=True)
class Filters:
    """Group (None: all the user sees), days start..end inclusive in TIME_ZONE, top-N limit,
    and the optional category, host and status some reports need."""

    start_day: dt.date
    end_day: dt.date
    group_id: int | None = None
    limit: int = 10
    category: str = ""
    host_id: int | None = None
    status: str = ""
    page: int = 1  # of reports listing every host (scoring): pages of SCORING_PAGE hosts
    include_na: bool = True  # `na=0`: the category report leaves "not applicable" out (P14)

    @property
    def start(self) -> dt.datetime:
        return _midnight(self.start_day)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: the midnight after end_day."""
        return _midnight(self.end_day + dt.timedelta(days=1))

    def but(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs printed on reports: what the numbers cover."""
        group = Group.objects.filter(pk=self.group_id).first() if self.group_id else None
        pairs = [
            ("group", group.name if group else gettext("all groups")),
            ("date_after", self.start_day.isoformat()),
            ("date_before", self.end_day.isoformat()),
        ]
        if self.host_id:
            host = Host.objects.filter(pk=self.host_id).first()
            pairs.append(("host", host.name if host else str(self.host_id)))
        if self.category:
            pairs.append(("category", self.category))
        if self.status:
            pairs.append(("status", self.status.replace("_", " ")))
        return pairs

    def as_query(self) -> dict[str, str]:
        """The query-string form (for links to the same report in another format)."""
        query = {
            "date_after": self.start_day.isoformat(),
            "date_before": self.end_day.isoformat(),
            "limit": str(self.limit),
        }
        for key, value in (
            ("group", self.group_id),
            ("host", self.host_id),
            ("category", self.category),
            ("status", self.status),
            ("page", self.page if self.page > 1 else None),
        ):
            if value:
                query[key] = str(value)
        return query


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def default_filters(days: int = DEFAULT_DAYS) -> Filters:
    today = timezone.localdate()
    return Filters(start_day=today - dt.timedelta(days=days - 1), end_day=today)


# The day range's names (docs/filters.md), each with the older name still accepted.
DATE_NAMES = {"date_after": "from", "date_before": "to"}


def parse_filters(query: Mapping[str, str], user: Any, *, default_limit: int = 10) -> Filters:
    """Filters from `group`, `date_after`, `date_before` (YYYY-MM-DD, inclusive; or `days` back
    from `date_before`), `limit`, `category`, `host`, `status`, `page` and `na` (0: leave "not
    applicable" out). A group or host the user cannot see is refused like one that does not
    exist."""
    today = timezone.localdate()
    days = _int(query.get("days"), "days", DEFAULT_DAYS, 1, 3660)
    end = _day(query, "date_before") or today
    start = _day(query, "date_after") or end - dt.timedelta(days=days - 1)
    if start > end:
        raise FilterError(gettext("date_after: must not be after date_before"))
    group_id = _int(query.get("group"), "group", None, 1, None)
    if group_id is not None and not scope(Group.objects.filter(pk=group_id), user, "pk"):
        raise FilterError(gettext("group: no such group"))
    host_id = _int(query.get("host"), "host", None, 1, None)
    if host_id is not None and not scope(Host.objects.filter(pk=host_id), user, "group"):
        raise FilterError(gettext("host: no such host"))
    status = (query.get("status") or "").strip()
    if status and status not in STATUSES:
        raise FilterError(gettext("status: one of %(values)s") % {"values": ", ".join(STATUSES)})
    return Filters(
        start_day=start,
        end_day=end,
        group_id=group_id,
        limit=_int(query.get("limit"), "limit", default_limit, 1, MAX_LIMIT),
        category=(query.get("category") or "").strip()[:200],
        host_id=host_id,
        status=status,
        page=_int(query.get("page"), "page", 1, 1, None),
        include_na=_int(query.get("na"), "na", 1, 0, 1) == 1,
    )


def _day(query: Mapping[str, str], name: str) -> dt.date | None:
    """The day given as `name` or as its older name; both given must agree."""
    old = DATE_NAMES[name]
    day, old_day = _date(query.get(name), name), _date(query.get(old), old)
    if day and old_day and day != old_day:
        raise FilterError(
            gettext("%(name)s: %(old)s is its older name; give one of them")
            % {"name": name, "old": old}
        )
    return day or old_day


def _date(raw: str | None, name: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise FilterError(
            gettext("%(name)s: expected a date YYYY-MM-DD") % {"name": name}
        ) from None


def _int(raw: str | None, name: str, default: Any, minimum: int, maximum: int | None) -> Any:
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise FilterError(gettext("%(name)s: expected a whole number") % {"name": name}) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise FilterError(gettext("%(name)s: out of range") % {"name": name})
    return value
