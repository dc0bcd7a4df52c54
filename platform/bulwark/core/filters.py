"""Filters shared by every FilterSet: numbers bounded to what the databases can compare."""

from __future__ import annotations

from typing import Any

import django_filters as filters

# A 64-bit signed integer: ids and scores both fit; `?group=1e30` is a 400, not an overflow.
LIMIT = 2**63 - 1


class NumberFilter(filters.NumberFilter):
    """django-filter's NumberFilter with a range the database drivers accept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", LIMIT)
        kwargs.setdefault("min_value", -LIMIT)
        super().__init__(*args, **kwargs)
