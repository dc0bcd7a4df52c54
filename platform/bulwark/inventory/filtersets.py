"""One FilterSet per inventory model, for the API and the pages alike (P11: score range, group,
name; the host list page filters through HostFilterSet). Related objects are
filtered by id without looking them up, so a filter never tells whether another group's object
exists: it just matches nothing in the scoped queryset."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet

from bulwark.core.filters import NumberFilter
from bulwark.inventory.models import Credential, Group, Host, HostState, Membership, Role


class GroupFilterSet(filters.FilterSet):
    """Groups by name."""

    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Group
        fields = ["name"]


class HostFilterSet(filters.FilterSet):
    """Hosts by name, address, group, transport, OS, state and latest score (P11)."""

    name = filters.CharFilter(method="filter_name", label="name or address contains")
    address = filters.CharFilter(lookup_expr="iexact")
    group = NumberFilter(field_name="group_id")
    group_name = filters.CharFilter(field_name="group__name")
    credential = NumberFilter(field_name="credential_id")
    transport = filters.ChoiceFilter(choices=Host.TransportKind.choices)
    state = filters.MultipleChoiceFilter(choices=HostState.choices)
    os_family = filters.CharFilter(lookup_expr="iexact")
    os_distribution = filters.CharFilter(lookup_expr="iexact")
    score_min = NumberFilter(field_name="latest_score", lookup_expr="gte")
    score_max = NumberFilter(field_name="latest_score", lookup_expr="lte")
    audited = filters.BooleanFilter(method="filter_audited", label="audited at least once")
    last_audit = filters.IsoDateTimeFromToRangeFilter(field_name="last_audit_at")
    # Days as every list names them (docs/filters.md): the latest audit finished between
    # date_after and date_before, both inclusive; what the host page's From and To mean.
    date = filters.DateFromToRangeFilter(
        field_name="last_audit_at", label="latest audit finished between (date_after, date_before)"
    )

    class Meta:
        model = Host
        fields = ["name", "address", "group", "transport", "state", "os_family"]

    def filter_name(self, queryset: QuerySet[Host], name: str, value: str) -> QuerySet[Host]:
        return queryset.filter(Q(name__icontains=value) | Q(address__icontains=value))

    def filter_audited(self, queryset: QuerySet[Host], name: str, value: bool) -> QuerySet[Host]:
        return queryset.filter(last_audit_at__isnull=not value)


class CredentialFilterSet(filters.FilterSet):
    """Credentials by group, kind and name (never by secret)."""

    name = filters.CharFilter(lookup_expr="icontains")
    group = NumberFilter(field_name="group_id")
    kind = filters.ChoiceFilter(choices=Credential.Kind.choices)

    class Meta:
        model = Credential
        fields = ["name", "group", "kind", "username"]


class MembershipFilterSet(filters.FilterSet):
    """Memberships by group, user name and role."""

    group = NumberFilter(field_name="group_id")
    user = filters.CharFilter(field_name="user__username")
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["group", "user", "role"]
