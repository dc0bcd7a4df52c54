"""One FilterSet per audits model, for the API and the pages alike (the audit page filters its
results, the alerts page its alerts, through these). Results filter as P9 says:
date range, check id, title, category, status. Related objects are filtered by id without a
lookup, so no filter tells whether another group's object exists."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from bulwark.audits import history
from bulwark.audits.models import AlertEvent, Audit, AuditStatus, Result, Schedule, ScoreSample
from bulwark.core.filters import NumberFilter


class AuditFilterSet(filters.FilterSet):
    """Audits by host, group, status, trigger, date, and whether each is its host's latest."""

    host = NumberFilter(field_name="host_id")
    group = NumberFilter(field_name="host__group_id")
    status = filters.MultipleChoiceFilter(choices=AuditStatus.choices)
    trigger = filters.ChoiceFilter(choices=Audit.Trigger.choices)
    date = filters.DateFromToRangeFilter(field_name="created_at", label="created between")
    created = filters.IsoDateTimeFromToRangeFilter(field_name="created_at")
    latest = filters.BooleanFilter()

    class Meta:
        model = Audit
        fields = ["host", "group", "status", "trigger", "latest"]


class ResultFilterSet(filters.FilterSet):
    """Results (P9): by audit or host, the audit's date, check id, title, category, status."""

    audit = NumberFilter(method="filter_audit", label="one audit's results (any audit, exactly)")
    host = NumberFilter(field_name="audit__host_id")
    group = NumberFilter(field_name="audit__host__group_id")
    date = filters.DateFromToRangeFilter(
        field_name="audit__finished_at", label="audit finished between (date_after, date_before)"
    )
    finished = filters.IsoDateTimeFromToRangeFilter(field_name="audit__finished_at")
    latest = filters.BooleanFilter(field_name="audit__latest", label="only hosts' latest audits")
    check_id = filters.CharFilter(field_name="policy_check__check_id")
    title = filters.CharFilter(field_name="policy_check__title", lookup_expr="icontains")
    category = filters.CharFilter(field_name="policy_check__category")
    policy = filters.CharFilter(field_name="policy_check__policy__policy_id")
    # A column of the row itself: no join can repeat a row, so no DISTINCT (which made every
    # count of a filtered page a sort of the whole list).
    status = filters.MultipleChoiceFilter(choices=Result.Status.choices, distinct=False)
    q = filters.CharFilter(method="filter_q", label="check id or title contains")

    class Meta:
        model = Result
        fields = ["audit", "host", "check_id", "title", "category", "status"]

    def filter_q(self, queryset: QuerySet[Result], name: str, value: str) -> QuerySet[Result]:
        return queryset.filter(
            Q(policy_check__check_id__icontains=value) | Q(policy_check__title__icontains=value)
        )

    def filter_audit(self, queryset: QuerySet[Result], name: str, value: int) -> QuerySet[Result]:
        """An older audit's results are rebuilt from its chain (history.py); each row says
        it is this audit's (`as_of`), whichever audit holds it."""
        audit = Audit.objects.filter(pk=value).only("pk", "results_reduced", "finished_at").first()
        if audit is None:
            return queryset.none()
        # The conditions of results_of joined to the list's own (not `pk IN` a subquery of
        # them: a page in id order would then walk the whole table's id index).
        return (queryset & history.results_of(audit)).annotate(
            as_of=Value(audit.pk), as_of_finished=Value(audit.finished_at)
        )


class ScheduleFilterSet(filters.FilterSet):
    """Schedules by host, group (its own, or its hosts') and whether enabled."""

    host = NumberFilter(field_name="host_id")
    group = NumberFilter(method="filter_group")

    class Meta:
        model = Schedule
        fields = ["host", "group", "enabled"]

    def filter_group(
        self, queryset: QuerySet[Schedule], name: str, value: int
    ) -> QuerySet[Schedule]:
        return queryset.filter(Q(group_id=value) | Q(host__group_id=value))


class AlertFilterSet(filters.FilterSet):
    """Alerts by host, group, kind, severity, date and whether acknowledged."""

    host = NumberFilter(field_name="host_id", label=_("Host"))
    group = NumberFilter(field_name="host__group_id", label=_("Group"))
    kind = filters.ChoiceFilter(
        choices=AlertEvent.Kind.choices, label=_("Kind"), empty_label=_("any")
    )
    severity = filters.ChoiceFilter(
        choices=AlertEvent.Severity.choices, label=_("Severity"), empty_label=_("any")
    )
    acknowledged = filters.BooleanFilter(method="filter_acknowledged", label=_("Acknowledged"))
    # date_after / date_before, inclusive (docs/filters.md)
    date = filters.DateFromToRangeFilter(field_name="created_at", label=_("Created between"))

    class Meta:
        model = AlertEvent
        fields = ["host", "kind", "severity"]

    def filter_acknowledged(
        self, queryset: QuerySet[AlertEvent], name: str, value: bool
    ) -> QuerySet[AlertEvent]:
        return queryset.filter(acknowledged_at__isnull=not value)


class ScoreSampleFilterSet(filters.FilterSet):
    """Score history (P7) by host, group and time range."""

    host = NumberFilter(field_name="host_id")
    group = NumberFilter(field_name="host__group_id")
    time = filters.IsoDateTimeFromToRangeFilter()
    date = filters.DateFromToRangeFilter(field_name="time")

    class Meta:
        model = ScoreSample
        fields = ["host"]
