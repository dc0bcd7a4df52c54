"""The report queries: every number of every page, report, widget and metric comes from here.

Each takes the user (everything is scoped to their groups) and Filters (group, day range,
options). "State" queries read each host's latest audit, kept on Host and in LatestCheckCount,
and count the hosts whose latest audit finished in the range; "history" queries read the
daily aggregates. None scans all results or all audits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection, transaction
from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Sum, Value
from django.http import QueryDict
from django.utils import timezone

from bulwark.audits import history
from bulwark.audits.filtersets import ResultFilterSet
from bulwark.audits.models import Audit, CategorySummary, Result, ScoreSample
from bulwark.audits.result_scope import scope_results
from bulwark.inventory.access import scope
from bulwark.inventory.models import Group, Host
from bulwark.policies.models import Check
from bulwark.reports.models import (
    CountedAudit,
    DailyGroupSummary,
    DailyHostSummary,
    LatestCheckCount,
    LatestCheckTotal,
)
from bulwark.reports.parameters import Filters
from bulwark.reports.rows import (
    CategoryCounts,
    CheckFailures,
    DayPoint,
    GroupScore,
    HostCheck,
    HostScore,
    Overview,
)

__all__ = [
    "CategoryCounts",
    "CheckFailures",
    "DayPoint",
    "GroupScore",
    "HostCheck",
    "HostScore",
    "Overview",
]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- hosts --------------------------------------------------------------------------------------


def visible_hosts(user: Any, f: Filters) -> QuerySet[Host]:
    """The hosts the user sees, of the filter's group and host: audited or not."""
    hosts = scope(Host.objects.all(), user, "group")
    if f.group_id:
        hosts = hosts.filter(group_id=f.group_id)
    return hosts.filter(pk=f.host_id) if f.host_id else hosts


def audited_hosts(user: Any, f: Filters) -> QuerySet[Host]:
    """The visible hosts whose latest audit finished within the range."""
    return visible_hosts(user, f).filter(last_audit_at__gte=f.start, last_audit_at__lt=f.end)


_HOST_FIELDS = (
    "pk",
    "name",
    "group__name",
    "address",
    "last_audit_at",
    "latest_score",
    "latest_passed",
    "latest_failed",
    "latest_not_applicable",
    "latest_excepted",
    "latest_raw_score",
)


def _host_scores(rows: QuerySet[Host]) -> list[HostScore]:
    return [HostScore(*row) for row in rows.values_list(*_HOST_FIELDS)]


def worst_hosts(user: Any, f: Filters) -> list[HostScore]:
    """P12: the N hosts with the lowest latest score."""
    rows = audited_hosts(user, f).filter(latest_score__isnull=False)
    return _host_scores(rows.order_by("latest_score", "name")[: f.limit])


def hosts_by_failures(user: Any, f: Filters) -> list[HostScore]:
    """P10: the N hosts failing the most checks in their latest audit (of f.category's checks
    when one is given: its counts are the category's, from the audit's category summary)."""
    if f.category:
        return _hosts_by_category_failures(user, f)
    rows = audited_hosts(user, f).filter(latest_failed__gt=0)
    return _host_scores(rows.order_by("-latest_failed", "name")[: f.limit])


def _hosts_by_category_failures(user: Any, f: Filters) -> list[HostScore]:
    hosts = audited_hosts(user, f)
    rows = (
        CategorySummary.objects.filter(
            audit__latest=True, audit__host__in=hosts, category=f.category, failed__gt=0
        )
        .order_by("-failed", "audit__host__name")
        .values_list("audit__host_id", "passed", "failed", "not_applicable", "excepted")[: f.limit]
    )
    counts = {row[0]: row[1:] for row in rows}
    found = {h.host_id: h for h in _host_scores(hosts.filter(pk__in=list(counts)))}
    return [
        replace(found[pk], passed=p, failed=fl, not_applicable=na, excepted=ex)
        for pk, (p, fl, na, ex) in counts.items()
        if pk in found
    ]


def host_list(user: Any, f: Filters, *, include_never_audited: bool = False) -> QuerySet[Host]:
    """P11: hosts with their OS, group, address, state, score and last audit, by name; the
    page narrows them with the API's HostFilterSet. Without `include_never_audited`, only hosts
    audited within the range."""
    hosts = visible_hosts(user, f) if include_never_audited else audited_hosts(user, f)
    return hosts.select_related("group").order_by("name")


def failed_audit_counts(user: Any) -> list[tuple[str, int]]:
    """(group name, hosts whose latest finished audit ended in error) per visible group."""
    hosts = scope(Host.objects.exclude(last_audit_error=""), user, "group")
    rows = hosts.values("group__name").annotate(n=Count("id")).order_by("group__name")
    return [(row["group__name"], row["n"]) for row in rows]


def scoring(user: Any, f: Filters) -> list[HostScore]:
    """P17: each host's latest score within the range, by host name."""
    if f.end > timezone.now():
        # The range reaches today: a host's latest audit in it is its latest audit, kept on
        # Host (the daily path below gives the same rows, slower).
        rows = audited_hosts(user, f).filter(latest_score__isnull=False)
        return _host_scores(rows.order_by("name"))
    return scoring_from_history(user, f)


def scoring_from_history(user: Any, f: Filters) -> list[HostScore]:
    """P17 from DailyHostSummary: the last day of each host within the range.

    On PostgreSQL a LATERAL join: one backward probe of the (host, day) unique index per
    visible host, instead of reading every day of every host in the range and sorting."""
    hosts = visible_hosts(user, f)
    if connection.vendor == "postgresql":
        return _scoring_lateral(hosts, f)
    days = DailyHostSummary.objects.filter(
        host__in=hosts, day__gte=f.start_day, day__lte=f.end_day, score__isnull=False
    )
    last = days.filter(
        day=DailyHostSummary.objects.filter(
            host_id=OuterRef("host_id"),
            day__gte=f.start_day,
            day__lte=f.end_day,
            score__isnull=False,
        )
        .order_by("-day")
        .values("day")[:1]
    )
    rows = last.values_list(
        "host_id",
        "host__name",
        "host__group__name",
        "host__address",
        "audit__finished_at",
        "score",
        "passed",
        "failed",
        "not_applicable",
        "excepted",
        "raw_score",
    )
    return sorted((HostScore(*row) for row in rows), key=lambda h: h.name)


def _scoring_lateral(hosts: QuerySet[Host], f: Filters) -> list[HostScore]:
    visible, params = hosts.order_by().values("pk").query.sql_with_params()
    summary, group, audit = (
        DailyHostSummary._meta.db_table,
        Group._meta.db_table,
        Audit._meta.db_table,
    )
    sql = (
        "SELECT h.id, h.name, g.name, h.address, a.finished_at, d.score, d.passed, d.failed,"  # noqa: S608
        f" d.not_applicable, d.excepted, d.raw_score FROM {Host._meta.db_table} h"
        f" JOIN {group} g ON g.id = h.group_id"
        " CROSS JOIN LATERAL (SELECT s.audit_id, s.score, s.passed, s.failed, s.not_applicable,"
        " s.excepted, s.raw_score"
        f" FROM {summary} s WHERE s.host_id = h.id AND s.day >= %s AND s.day <= %s"
        " AND s.score IS NOT NULL ORDER BY s.day DESC LIMIT 1) d"
        f" JOIN {audit} a ON a.id = d.audit_id"
        f" WHERE h.id IN ({visible})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.start_day, f.end_day, *params])
        rows = cursor.fetchall()
    return sorted((HostScore(*row) for row in rows), key=lambda h: h.name)


# -- checks and categories ----------------------------------------------------------------------


def check_counts(user: Any, f: Filters) -> QuerySet[LatestCheckCount]:
    """Counter rows of the hosts whose latest audit is in the range, scoped."""
    rows = scope(LatestCheckCount.objects.all(), user, "group").filter(
        day__gte=f.start_day, day__lte=f.end_day
    )
    if f.group_id:
        rows = rows.filter(group_id=f.group_id)
    if f.category:
        rows = rows.filter(category=f.category)
    return rows


def latest_audit_in_range(user: Any, f: Filters) -> Audit | None:
    """f.host_id's latest audit, when the user sees the host and it finished in the range."""
    host = audited_hosts(user, f).filter(pk=f.host_id).first() if f.host_id else None
    return Audit.objects.filter(host=host, latest=True).first() if host else None


def _host_check_counts(user: Any, f: Filters) -> QuerySet[Any]:
    """check_counts' rows for one host (f.host_id): its latest audit's results, a check per
    row with 1 in the column of its status (LatestCheckCount counts groups, not hosts)."""
    audit = latest_audit_in_range(user, f)
    if audit is None:
        return Result.objects.none().values("policy_check_id")
    rows = history.results_of(audit)
    if f.category:
        rows = rows.filter(policy_check__category=f.category)
    return rows.values("policy_check_id").annotate(
        category=F("policy_check__category"),
        passed=Count("pk", filter=Q(status=Result.Status.PASSED)),
        failed=Count("pk", filter=Q(status=Result.Status.FAILED)),
        not_applicable=Count("pk", filter=Q(status=Result.Status.NOT_APPLICABLE)),
        excepted=Count("pk", filter=Q(status=Result.Status.EXCEPTED)),
    )


def most_failed_checks(user: Any, f: Filters) -> list[CheckFailures]:
    """P13: the N checks failing on the most hosts (of the category, if one is given; of the
    host, if one is given)."""
    if f.host_id:
        rows = _host_check_counts(user, f).filter(Q(failed__gt=0) | Q(excepted__gt=0))
        top = rows.order_by("-failed", "-excepted", "policy_check_id")[: f.limit]
        return _check_failures({r["policy_check_id"]: (r["failed"], r["excepted"]) for r in top})
    return _most_failed(_check_sums(user, f), f.limit)


_SUMS = {
    "p": Sum("passed"),
    "fl": Sum("failed"),
    "na": Sum("not_applicable"),
    "ex": Sum("excepted"),
}


def _check_sums(user: Any, f: Filters) -> list[dict[str, Any]]:
    """check_counts summed per check, with its category (`p`, `fl`, `na`, `ex`): one scan
    gives both the category summary and the most failed checks (`_by_category`,
    `_most_failed`), which the dashboard shows together. A range holding most hosts' latest
    audits (the dashboard's, to today) is read from the totals (`_sums_to_date`); one holding
    few (in the past: hosts not audited since) from its own counter rows. Both are exact."""
    if _holds_most_latest_audits(f):
        return _sums_to_date(user, f)
    rows = check_counts(user, f).values("policy_check_id", "category")
    return list(rows.annotate(**_SUMS).order_by())


def _holds_most_latest_audits(f: Filters) -> bool:
    """Whether more hosts' latest audits fall in the range than outside it (the counter rows
    follow them): one count over a row per host."""
    in_range = Q(day__gte=f.start_day, day__lte=f.end_day)
    hosts = CountedAudit.objects.aggregate(all=Count("pk"), inside=Count("pk", filter=in_range))
    return bool(hosts["inside"] * 2 > hosts["all"])


def _sums_to_date(user: Any, f: Filters) -> list[dict[str, Any]]:
    """The same from LatestCheckTotal: the user's groups' totals per check, less the counter
    rows of the days outside the range (a row per group and check, then the few of hosts last
    audited outside it: at 10,000 hosts audited over a week's 7 days, 60,000 rows instead of
    420,000). The category is the check's now (the counter rows keep the one a check had when
    they were written; they differ only after a policy update moved the check)."""
    totals = scope(LatestCheckTotal.objects.all(), user, "group")
    outside = scope(LatestCheckCount.objects.all(), user, "group").filter(
        Q(day__lt=f.start_day) | Q(day__gt=f.end_day)
    )
    if f.group_id:
        totals, outside = totals.filter(group_id=f.group_id), outside.filter(group_id=f.group_id)
    if f.category:
        of_category = Check.objects.filter(category=f.category).values("pk")
        totals = totals.filter(policy_check__in=of_category)
        outside = outside.filter(policy_check__in=of_category)
    # Both from one snapshot: a host moving group between two reads would be subtracted from
    # a group whose totals did not have it yet.
    with _one_snapshot():
        # Summed per check id alone, the categories looked up after: the join per row was a
        # third of the statement's time at 10,000 hosts.
        sums = {
            row["policy_check_id"]: row
            for row in totals.values("policy_check_id").annotate(**_SUMS).order_by()
        }
        less = list(outside.values("policy_check_id").annotate(**_SUMS).order_by())
    categories = Check.objects.filter(pk__in=list(sums)).values_list("pk", "category")
    for pk, category in categories:
        sums[pk]["category"] = category
    for row in less:
        total = sums.get(row["policy_check_id"])
        if total is None:  # every counted check has a total
            continue
        for name in _SUMS:
            total[name] -= row[name]
    return [row for row in sums.values() if any(row[name] for name in _SUMS)]


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """The statements inside see one snapshot of the database: on PostgreSQL a REPEATABLE READ
    transaction (reading only, it never fails to serialize); SQLite's transactions already
    read one. Inside a caller's transaction, that transaction decides."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _most_failed(sums: list[dict[str, Any]], limit: int) -> list[CheckFailures]:
    return _check_failures(_rank_checks(sums, limit))


def _rank_checks(sums: list[dict[str, Any]], limit: int) -> dict[int, tuple[int, int]]:
    """The `limit` checks failing on the most hosts, then the most excepted, then by id, with
    (hosts failing, hosts excepted); a check every host has an exception for still shows
    (after the failing ones)."""
    counts: dict[int, tuple[int, int]] = {}
    for row in sums:
        hosts, excepted = counts.get(row["policy_check_id"], (0, 0))
        counts[row["policy_check_id"]] = (hosts + row["fl"], excepted + row["ex"])
    ranked = sorted(
        ((pk, c) for pk, c in counts.items() if c[0] > 0 or c[1] > 0),
        key=lambda item: (-item[1][0], -item[1][1], item[0]),
    )
    return dict(ranked[:limit])


def _by_category(sums: list[dict[str, Any]]) -> list[CategoryCounts]:
    """Every category with a result, most failures first, then by name (code points: the same
    order on PostgreSQL and SQLite, whatever the database's collation)."""
    totals: dict[str, list[int]] = {}
    for row in sums:
        total = totals.setdefault(row["category"], [0, 0, 0])
        total[0] += row["p"]
        total[1] += row["fl"]
        total[2] += row["na"]
    found = [CategoryCounts(name, p, fl, na) for name, (p, fl, na) in totals.items()]
    found.sort(key=lambda c: (-c.failed, c.category))
    return [c for c in found if c.passed or c.failed or c.not_applicable]


def _check_failures(counts: dict[int, tuple[int, int]]) -> list[CheckFailures]:
    checks = Check.objects.in_bulk(list(counts))
    return [
        CheckFailures(
            pk,
            checks[pk].check_id,
            checks[pk].title,
            checks[pk].description,
            checks[pk].category,
            hosts,
            excepted,
        )
        for pk, (hosts, excepted) in counts.items()
    ]


def categories(user: Any, f: Filters) -> list[CategoryCounts]:
    """P15 and the P10 summary: every category, most failures first (of the host's latest
    audit when a host is given)."""
    if f.host_id:
        audit = latest_audit_in_range(user, f)
        summaries = CategorySummary.objects.filter(audit=audit) if audit else None
        if summaries is None:
            return []
        if f.category:
            summaries = summaries.filter(category=f.category)
        return [
            CategoryCounts(c.category, c.passed, c.failed, c.not_applicable)
            for c in summaries.order_by("-failed", "category")
            if c.passed or c.failed or c.not_applicable
        ]
    return _by_category(_check_sums(user, f))


def category_results(user: Any, f: Filters) -> CategoryCounts:
    """P14: results by status for one category (f.category; of one host if given)."""
    if f.host_id:
        found = categories(user, f)
        return found[0] if found else CategoryCounts(f.category, 0, 0, 0)
    sums = _check_sums(user, f)
    return CategoryCounts(
        f.category,
        sum(row["p"] for row in sums),
        sum(row["fl"] for row in sums),
        sum(row["na"] for row in sums),
    )


# -- one host, one audit ------------------------------------------------------------------------


def host_checks(user: Any, f: Filters) -> list[HostCheck]:
    """P16: the checks of f.host_id's latest audit, by category and status if given."""
    host = visible_hosts(user, f).filter(pk=f.host_id).first()
    if host is None:
        return []
    audit = Audit.objects.filter(host=host, latest=True).first()
    if audit is None or not (f.start <= (audit.finished_at or f.end) < f.end):
        return []
    return audit_results(user, audit.pk, category=f.category, status=f.status)


def audit_results(
    user: Any, audit_id: int, *, category: str = "", status: str = "", text: str = ""
) -> list[HostCheck]:
    """P9: the results of one audit, filtered by category, status, id or title text (the API's
    ResultFilterSet: `category`, `status`, `q`)."""
    scoped = audit_result_rows(user, audit_id)
    query = QueryDict(mutable=True)
    for key, value in (("category", category), ("status", status), ("q", text)):
        if value:
            query[key] = value
    filterset = ResultFilterSet(query, scoped)
    if not filterset.is_valid():
        raise ValueError(f"result filters: {dict(filterset.errors)}")
    results = filterset.qs
    rows = results.order_by("policy_check__policy__policy_id", "policy_check_id")
    return [HostCheck(*row) for row in rows.values_list(*HOST_CHECK_FIELDS)]


HOST_CHECK_FIELDS = (
    "pk",
    "as_of",
    "policy_check__check_id",
    "policy_check__title",
    "policy_check__category",
    "status",
    "policy_check__policy__policy_id",
)


def audit_result_rows(user: Any, audit: Audit | int) -> QuerySet[Result]:
    """One audit's results as the user may see them, through history.results_of: an older
    audit's rows may be held by newer audits of the host, so `as_of` names the audit asked for.
    Scoped by the audit (result_scope.py), so a page and its count read the (audit, id) index."""
    audit_id = audit if isinstance(audit, int) else audit.pk
    return scope_results(history.results_of(audit), user).annotate(as_of=Value(audit_id))


@dataclass(frozen=True)
class ResultsPage:
    """One page of an audit's results in id order (the order they were stored: policy by
    policy, check by check), with the keys of the neighbouring pages (None at either end)."""

    rows: list[HostCheck]
    total: int
    after: int | None  # the next page starts after this id
    before: int | None  # the previous page ends before this id


def audit_results_page(
    results: QuerySet[Result],
    *,
    after: int | None = None,
    before: int | None = None,
    size: int = 100,
) -> ResultsPage:
    """P9 at any size: a keyset page of `results` (one audit's, scoped and filtered by the
    caller: `id > after` or `id < before`, on the (audit, id) index), as fast for the last page
    of a long list as for the first."""
    backwards = before is not None
    if backwards:
        page = results.filter(pk__lt=before).order_by("-pk")
    else:
        page = results.filter(pk__gt=after or 0).order_by("pk")
    rows = [HostCheck(*row) for row in page.values_list(*HOST_CHECK_FIELDS)[: size + 1]]
    more = len(rows) > size  # one row past the page: there is another page that way
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return ResultsPage([], results.count(), None, None)
    first, last = rows[0].result_pk, rows[-1].result_pk
    has_next = results.filter(pk__gt=last).exists() if backwards else more
    has_previous = more if backwards else results.filter(pk__lt=first).exists()
    return ResultsPage(
        rows, results.count(), last if has_next else None, first if has_previous else None
    )


def audit_categories(user: Any, audit_id: int) -> list[CategoryCounts]:
    """P9: the category summary (✓, ✗, %) of one audit, most failures first."""
    rows = scope(CategorySummary.objects.filter(audit_id=audit_id), user, "audit__host__group")
    return [
        CategoryCounts(r.category, r.passed, r.failed, r.not_applicable)
        for r in rows.order_by("-failed", "category")
    ]


def score_history(user: Any, host_id: int, f: Filters) -> list[ScoreSample]:
    """P7/P8: a host's score at each audit within the range, oldest first."""
    samples = scope(ScoreSample.objects.filter(host_id=host_id), user, "host__group")
    return list(samples.filter(time__gte=f.start, time__lt=f.end).order_by("time"))


# -- history ------------------------------------------------------------------------------------


def evolution(user: Any, f: Filters) -> list[DayPoint]:
    """P18: per day, the hosts audited and their passed, failed, not applicable and score
    averaged, from the per-group daily sums (one host's daily rows when a host is given)."""
    if f.host_id:
        return _host_evolution(user, f)
    rows = scope(DailyGroupSummary.objects.all(), user, "group").filter(
        day__gte=f.start_day, day__lte=f.end_day, hosts__gt=0
    )
    if f.group_id:
        rows = rows.filter(group_id=f.group_id)
    points = []
    for r in (
        rows.values("day")
        .annotate(
            h=Sum("hosts"),
            p=Sum("passed"),
            fl=Sum("failed"),
            na=Sum("not_applicable"),
            sh=Sum("scored_hosts"),
            ss=Sum("score_sum"),
            ex=Sum("excepted"),
            rh=Sum("raw_scored_hosts"),
            rs=Sum("raw_score_sum"),
        )
        .order_by("day")
    ):
        hosts = r["h"]
        points.append(
            DayPoint(
                r["day"],
                hosts,
                round(r["p"] / hosts, 2),
                round(r["fl"] / hosts, 2),
                round(r["na"] / hosts, 2),
                round(r["ss"] / r["sh"], 2) if r["sh"] else None,
                round(r["ex"] / hosts, 2),
                round(r["rs"] / r["rh"], 2) if r["rh"] else None,
            )
        )
    return points


def _host_evolution(user: Any, f: Filters) -> list[DayPoint]:
    rows = scope(DailyHostSummary.objects.filter(host_id=f.host_id), user, "host__group")
    if f.group_id:
        rows = rows.filter(host__group_id=f.group_id)
    return [
        DayPoint(r.day, 1, r.passed, r.failed, r.not_applicable, r.score, r.excepted, r.raw_score)
        for r in rows.filter(day__gte=f.start_day, day__lte=f.end_day).order_by("day")
    ]


# -- the dashboard ------------------------------------------------------------------------------


def group_scores(user: Any, f: Filters) -> list[GroupScore]:
    """P10: each visible group's hosts, audited hosts and average latest score."""
    in_range = Q(hosts__last_audit_at__gte=f.start, hosts__last_audit_at__lt=f.end)
    counted = Q()
    groups = scope(Group.objects.all(), user, "pk")
    if f.group_id:
        groups = groups.filter(pk=f.group_id)
    if f.host_id:
        # One host: its group, counting that host only.
        counted = Q(hosts__pk=f.host_id)
        groups, in_range = groups.filter(hosts__pk=f.host_id), in_range & counted
    rows = groups.annotate(
        n=Count("hosts", filter=counted),
        audited=Count("hosts", filter=in_range),
        average=Avg("hosts__latest_score", filter=in_range),
        raw_average=Avg("hosts__latest_raw_score", filter=in_range),
    ).order_by("name")
    return [
        GroupScore(g.pk, g.name, g.n, g.audited, _round(g.average), _round(g.raw_average))
        for g in rows
    ]


def overview(user: Any, f: Filters) -> Overview:
    """P10: fleet totals and average, per group, categories, worst hosts, top failed checks,
    and the passed/failed evolution."""
    groups = group_scores(user, f)
    if f.host_id:  # from the host's latest audit
        by_category, most_failed = categories(user, f), most_failed_checks(user, f)
    else:  # both panels from one scan of the counters
        sums = _check_sums(user, f)
        by_category, most_failed = _by_category(sums), _most_failed(sums, f.limit)
    audited = audited_hosts(user, f).aggregate(
        n=Count("pk"),
        avg=Avg("latest_score"),
        raw=Avg("latest_raw_score"),
        ex=Sum("latest_excepted"),
    )
    return Overview(
        total_hosts=sum(g.hosts for g in groups),
        audited_hosts=audited["n"],
        average_score=_round(audited["avg"]),
        raw_average_score=_round(audited["raw"]),
        excepted=audited["ex"] or 0,
        groups=groups,
        categories=by_category,
        hosts_by_failures=hosts_by_failures(user, f),
        most_failed=most_failed,
        evolution=evolution(user, f),
    )
