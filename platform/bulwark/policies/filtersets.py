"""One FilterSet per catalogue model, shared by the API and the pages."""

from __future__ import annotations

import django_filters as filters

from bulwark.policies.models import Check, Policy


class PolicyFilterSet(filters.FilterSet):
    """Policies by id, name, origin and whether audits run them."""

    policy_id = filters.CharFilter()
    name = filters.CharFilter(lookup_expr="icontains")
    origin = filters.ChoiceFilter(choices=Policy.Origin.choices)

    class Meta:
        model = Policy
        fields = ["policy_id", "name", "origin", "enabled", "dialect"]


class CheckFilterSet(filters.FilterSet):
    """Checks by policy, id, title, category, level and whether still in their policy."""

    policy = filters.CharFilter(field_name="policy__policy_id")
    check_id = filters.CharFilter()
    title = filters.CharFilter(lookup_expr="icontains")
    category = filters.CharFilter()

    class Meta:
        model = Check
        fields = ["policy", "check_id", "title", "category", "level", "active"]
