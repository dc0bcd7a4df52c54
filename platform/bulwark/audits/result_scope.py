"""Results limited to the user's groups, read on the (audit, id) index.

`scope(results, user, "audit__host__group")` joins every result row to its audit and host to
test the group: a COUNT of a 100,000-result audit then makes 200,000 lookups, on every page of
its list. Testing the audit instead (`audit_id IN (the audits of the user's hosts)`) is a
semi-join the databases evaluate once, and leaves `audit_id = N AND id > key` to the index
(bench/results_pages.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from bulwark.audits.models import Audit, Result
from bulwark.inventory.access import scope, visible_group_ids


def scope_results(queryset: QuerySet[Result], user: Any) -> QuerySet[Result]:
    """The rows of `queryset` whose audit is of a host of a group the user sees."""
    if visible_group_ids(user) is None:
        return queryset  # a superuser sees every group
    audits = scope(Audit.objects.all(), user, "host__group").values("pk")
    return queryset.filter(audit_id__in=audits)
